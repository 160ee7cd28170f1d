"""The bank's 3-D Secure challenge for a sandbox charge, and the news of it to the invoice.

In Stripe mode the cardholder answers the challenge in Stripe.js and Stripe reports the
outcome with a `payment_intent.*` webhook; the sandbox plays both, offline.
"""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.invoices.charging import lock_for_payment
from app.invoices.paying import apply_payment_event
from app.models import SandboxCharge, SandboxChargeStatus
from app.payments.errors import AUTHENTICATION_FAILED
from app.payments.provider import PaymentStatus
from app.sandbox import repository
from app.sandbox.errors import PaymentIntentNotFound, PaymentIntentUnexpectedState
from app.sandbox.intents import customer_of


async def authenticate_payment(
    session: AsyncSession, account_id: str, payment_intent_id: str, *, success: bool, now: datetime
) -> SandboxCharge:
    """The bank's challenge for a charge: the payment then succeeds (unless the card declines
    it anyway) or fails with `authentication_failed`, and the invoice learns of it."""
    found = await repository.get_charge_by_id(session, payment_intent_id)
    customer_id = await customer_of(session, account_id)
    if found is None or customer_id is None or found.customer_id != customer_id:
        raise PaymentIntentNotFound(f"No payment intent {payment_intent_id} on this account.")
    if found.invoice_id is not None:
        # The locks every charging path takes, in its order (account, invoice, then the
        # payment): a pay or a retry of the same invoice queues instead of deadlocking.
        await lock_for_payment(session, found.invoice_id)
    charge = await repository.lock_charge(session, payment_intent_id)
    assert charge is not None, "sandbox charges are never deleted"
    if charge.status != SandboxChargeStatus.REQUIRES_ACTION:
        raise PaymentIntentUnexpectedState(
            f"Payment intent {charge.id} is {charge.status}: no challenge is waiting."
        )
    decline_code: str | None = AUTHENTICATION_FAILED
    if success:
        method = await repository.get_payment_method(session, charge.payment_method_id)
        assert method is not None, "a charge's payment method is never deleted"
        decline_code = method.charge_decline_code
    charge.status = (
        SandboxChargeStatus.SUCCEEDED if decline_code is None else SandboxChargeStatus.FAILED
    )
    charge.decline_code = decline_code
    await session.flush()
    if charge.invoice_id is not None:
        # What Stripe's payment_intent.succeeded / payment_failed webhook does in Stripe mode.
        await apply_payment_event(
            session,
            invoice_id=charge.invoice_id,
            provider_payment_id=charge.id,
            status=PaymentStatus.SUCCEEDED if decline_code is None else PaymentStatus.FAILED,
            failure_code=decline_code,
            now=now,
        )
    return charge
