"""Payments outside the retry schedule: the customer paying, the provider's news of a
payment, and a new primary card paying what is due."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import repository as accounts
from app.core.db import commit
from app.core.observability import log_event
from app.events.types import EventType
from app.invoices import repository
from app.invoices.announce import announce
from app.invoices.charging import (
    charge_now,
    lock_for_charge,
    payment_failed,
    payment_succeeded,
    settle_waiting_payment,
)
from app.invoices.errors import AuthenticationRequired, InvoiceNotPayable, NoPaymentMethod
from app.invoices.schemas import NextAction
from app.invoices.states import PAYABLE, move
from app.models import Invoice, InvoiceStatus, PaymentAttempt, PaymentOutcome
from app.payments.errors import AUTHENTICATION_REQUIRED, PROVIDER_ERRORS, CardDeclined
from app.payments.provider import PaymentProvider, PaymentStatus


async def pay_invoice(
    session: AsyncSession,
    provider: PaymentProvider,
    account_id: str,
    invoice_id: str,
    now: datetime,
) -> Invoice:
    invoice = await lock_for_charge(session, invoice_id, account_id)
    if invoice.status not in PAYABLE:
        raise InvoiceNotPayable(
            f"Invoice {invoice_id} is {invoice.status.value}; only payment_due or not_paid "
            "invoices can be paid."
        )
    primary = await accounts.primary_card(session, account_id)
    if primary is None:
        raise NoPaymentMethod("Add a card first: the invoice is charged to the primary card.")
    waiting = await settle_waiting_payment(session, provider, invoice, now, keep_for=primary)
    if waiting is not None and waiting.outcome is PaymentOutcome.REQUIRES_ACTION:
        # The customer is back for the challenge of a payment already under way: the same
        # challenge, never a second charge beside it.
        raise _authentication_required(invoice, waiting)
    if invoice.status is not InvoiceStatus.PAID:
        attempt = await charge_now(session, provider, invoice, now)
        if attempt.outcome is not PaymentOutcome.SUCCEEDED:
            # The attempt and the invoice's new state are facts even though the caller is told
            # 402: they are committed here, before the error unwinds the request.
            await commit(session)
            if attempt.outcome is PaymentOutcome.REQUIRES_ACTION:
                raise _authentication_required(invoice, attempt)
            raise CardDeclined(
                attempt.decline_code,
                f"The charge of invoice {invoice.number} was declined ({attempt.decline_code}); "
                "the invoice is still unpaid.",
            )
    return await repository.load_detail(session, invoice)


def _authentication_required(invoice: Invoice, attempt: PaymentAttempt) -> AuthenticationRequired:
    assert attempt.provider_payment_id is not None
    assert attempt.client_secret is not None
    return AuthenticationRequired(
        NextAction(payment_intent=attempt.provider_payment_id, client_secret=attempt.client_secret),
        f"The bank asks the cardholder to authenticate the payment of invoice {invoice.number}: "
        "run the challenge in `next_action`.",
    )


async def apply_payment_event(
    session: AsyncSession,
    *,
    invoice_id: str,
    provider_payment_id: str,
    status: PaymentStatus,
    failure_code: str | None,
    now: datetime,
) -> None:
    """Reconcile an invoice with the provider's word on one of its payments (webhooks).

    Never moves an invoice backwards: a late failure cannot undo `paid`, and nothing revives
    a voided invoice. Unknown invoices are ignored (they may belong to another system).
    """
    invoice = await repository.lock_for_update(session, invoice_id)
    if invoice is None or invoice.is_draft:
        return
    attempt = await repository.get_attempt_by_payment(session, invoice.id, provider_payment_id)
    if status is PaymentStatus.SUCCEEDED:
        await payment_succeeded(session, invoice, attempt, now)
    elif attempt is not None:
        # We recorded this payment from the provider's own answer. A failure after a
        # challenge is news; a failure or a challenge for a payment we hold as succeeded is
        # an event arriving late (the success is the later truth), and a challenge we
        # recorded already.
        if status is PaymentStatus.FAILED and payment_failed(invoice, attempt, failure_code):
            await announce(session, invoice, EventType.INVOICE_PAYMENT_FAILED, now)
    elif invoice.status is InvoiceStatus.PAYMENT_PENDING:
        # The charge's answer was lost before we recorded it; the collector's re-run will.
        invoice.failure_reason = (
            AUTHENTICATION_REQUIRED
            if status is PaymentStatus.REQUIRES_ACTION
            else (failure_code or "card_declined")
        )
        move(invoice, InvoiceStatus.PAYMENT_DUE)
        await announce(session, invoice, EventType.INVOICE_PAYMENT_FAILED, now)
    await session.flush()


async def pay_due_with_new_primary(
    session: AsyncSession, provider: PaymentProvider, account_id: str, now: datetime
) -> None:
    """The rule "a new primary card pays what is due": charge the account's `payment_due`
    invoices now. Cards call it whenever an account's primary card changes.

    The caller holds the account's lock. Each charge runs in a savepoint: a provider that
    cannot answer undoes only that attempt, never the card change that triggered it, and
    the invoice keeps its schedule.
    """
    for invoice in await repository.payment_due_for_account(session, account_id):
        try:
            async with session.begin_nested():
                await charge_now(session, provider, invoice, now)
        except PROVIDER_ERRORS as exc:
            log_event(session, "invoice.retry_postponed", invoice_id=invoice.id, error=exc.code)
