"""The sandbox's setup intents and payment challenges: Stripe.js and the bank, offline.

A setup intent is confirmed with a card (typed in, or a test token), as Stripe.js's
`confirmCardSetup` does; a card that asks for 3-D Secure leaves it `requires_action` until
the cardholder passes or fails the bank's challenge. A charge the bank wants authenticated
waits the same way (`SandboxProvider.charge`; its challenge is in `payment_challenges`).
Statuses and codes are Stripe's.
"""

import secrets
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import repository as accounts
from app.cards.errors import SetupIntentNotFound
from app.core.db import commit
from app.core.ids import new_id
from app.models import SandboxPaymentMethod, SandboxSetupIntent
from app.payments.errors import AUTHENTICATION_FAILED, CardDeclined, PaymentMethodNotFound
from app.payments.provider import SetupIntentInfo, SetupStatus
from app.sandbox import repository
from app.sandbox.errors import SetupIntentUnexpectedState
from app.sandbox.testcards import Authentication


def client_secret(intent_id: str) -> str:
    # Stripe's shape: the intent's id, then a random part only its owner's frontend gets.
    return f"{intent_id}_secret_{secrets.token_urlsafe(18)}"


def info(intent: SandboxSetupIntent) -> SetupIntentInfo:
    return SetupIntentInfo(
        provider_id=intent.id,
        customer_id=intent.customer_id,
        client_secret=intent.client_secret,
        status=SetupStatus(intent.status),
        payment_method_id=intent.payment_method_id,
        last_error=intent.last_error,
    )


async def create_setup_intent(
    session: AsyncSession, customer_id: str, now: datetime
) -> SandboxSetupIntent:
    intent_id = new_id("seti")
    intent = SandboxSetupIntent(
        id=intent_id,
        client_secret=client_secret(intent_id),
        customer_id=customer_id,
        status=SetupStatus.REQUIRES_PAYMENT_METHOD,
        created_at=now,
    )
    await repository.add_setup_intent(session, intent)
    return intent


async def customer_of(session: AsyncSession, account_id: str) -> str | None:
    account = await accounts.get(session, account_id)
    return account.provider_customer_id if account is not None else None


async def owned_setup_intent(
    session: AsyncSession, account_id: str, setup_intent_id: str
) -> SandboxSetupIntent:
    """The account's setup intent, locked; another account's is as missing as an unknown one."""
    intent = await repository.lock_setup_intent(session, setup_intent_id)
    customer_id = await customer_of(session, account_id)
    if intent is None or customer_id is None or intent.customer_id != customer_id:
        raise SetupIntentNotFound(f"No setup intent {setup_intent_id} on this account.")
    return intent


def _save_for_off_session(intent: SandboxSetupIntent, method: SandboxPaymentMethod) -> None:
    # As on Stripe, a succeeded off-session setup intent attaches the card to the customer
    # and authorizes later charges made without the cardholder.
    intent.status = SetupStatus.SUCCEEDED
    intent.last_error = None
    method.customer_id = intent.customer_id
    method.set_up_off_session = True


async def confirm_setup_intent(
    session: AsyncSession, intent: SandboxSetupIntent, method: SandboxPaymentMethod
) -> SandboxSetupIntent:
    """`confirmCardSetup`: the card is checked; it may be declined or ask for a challenge.

    A decline is kept on the intent (`last_error`), committed, then answered 402, as Stripe
    answers the confirmation and keeps the error on the intent.
    """
    if intent.status != SetupStatus.REQUIRES_PAYMENT_METHOD:
        raise SetupIntentUnexpectedState(
            f"Setup intent {intent.id} is {intent.status}; it cannot be confirmed."
        )
    if method.customer_id not in (None, intent.customer_id):
        raise PaymentMethodNotFound(f"No payment method {method.id}.")
    if method.attach_decline_code is not None:
        error = CardDeclined(method.attach_decline_code)
        intent.last_error = error.problem_code
        intent.payment_method_id = None
        await session.flush()
        await commit(session)
        raise error
    intent.payment_method_id = method.id
    if method.authentication is None:
        _save_for_off_session(intent, method)
    else:
        intent.status = SetupStatus.REQUIRES_ACTION
        intent.last_error = None
    await session.flush()
    return intent


async def authenticate_setup_intent(
    session: AsyncSession, intent: SandboxSetupIntent, *, success: bool
) -> SandboxSetupIntent:
    """The bank's challenge for saving the card: passed, or failed (the card is let go)."""
    if intent.status != SetupStatus.REQUIRES_ACTION or intent.payment_method_id is None:
        raise SetupIntentUnexpectedState(
            f"Setup intent {intent.id} is {intent.status}: no challenge is waiting."
        )
    if success:
        method = await repository.get_payment_method(session, intent.payment_method_id)
        assert method is not None, "a setup intent's payment method is never deleted"
        _save_for_off_session(intent, method)
    else:
        # Stripe returns the intent to its first step, so another card can be tried.
        intent.status = SetupStatus.REQUIRES_PAYMENT_METHOD
        intent.payment_method_id = None
        intent.last_error = AUTHENTICATION_FAILED
    await session.flush()
    return intent


def needs_authentication(method: SandboxPaymentMethod) -> bool:
    """Whether the bank asks the cardholder to authenticate an off-session charge."""
    if method.authentication == Authentication.ALWAYS:
        return True
    # A card that asks only when saved is charged freely once an authenticated setup intent
    # saved it; attached any other way, nothing authorized charging it without the holder.
    return method.authentication == Authentication.ON_SETUP and not method.set_up_off_session
