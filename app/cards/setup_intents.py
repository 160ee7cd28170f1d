"""Saving cards through setup intents, so the bank can ask for 3-D Secure when a card is saved.

The frontend confirms the intent with its `client_secret` (Stripe.js `confirmCardSetup`,
which runs the bank's challenge) and then calls `POST /v1/cards {"setup_intent"}`. In Stripe
mode the `setup_intent.succeeded` webhook adds the card too, for a frontend that never calls
back. Both paths take the account's lock and look for the card of the intent's payment
method first, so the card is added once whichever comes first, and again is a no-op.
"""

import re
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import repository as accounts
from app.accounts.repository import AccountCustomer
from app.accounts.service import ensure_customer
from app.cards import repository
from app.cards.errors import (
    CardAlreadyAdded,
    CardLimitReached,
    SetupIntentIncomplete,
    SetupIntentNotFound,
)
from app.cards.rate_limit import admit_card_add
from app.cards.service import add_set_up_card
from app.core.config import RateLimit
from app.core.observability import log_event
from app.models import Card
from app.payments.provider import PaymentProvider, SetupIntentInfo, SetupStatus

# What a setup intent id looks like; anything else is unknown without asking the provider.
SETUP_INTENT_ID = re.compile(r"^seti_[A-Za-z0-9_]{1,250}$")


async def create_setup_intent(
    session: AsyncSession,
    provider: PaymentProvider,
    account_id: str,
    now: datetime,
    limit: RateLimit,
) -> SetupIntentInfo:
    """A setup intent on the account's customer, for charges made without the cardholder.

    It counts towards the card-add `limit` like an added card: a setup intent is how a card
    is saved, and confirming one tests the card at the bank."""
    await admit_card_add(session, account_id, now, limit)
    account = await accounts.lock(session, account_id)
    customer_id = await ensure_customer(session, provider, account)
    intent = await provider.create_setup_intent(customer_id)
    log_event(session, "setup_intent.created", setup_intent_id=intent.provider_id)
    return intent


async def _owned(
    provider: PaymentProvider, account: AccountCustomer, setup_intent_id: str
) -> SetupIntentInfo:
    """The account's setup intent; another account's is exactly as missing as an unknown one."""
    intent = None
    if SETUP_INTENT_ID.match(setup_intent_id) and account.provider_customer_id is not None:
        intent = await provider.retrieve_setup_intent(setup_intent_id)
    if intent is None or intent.customer_id != account.provider_customer_id:
        raise SetupIntentNotFound(f"No setup intent {setup_intent_id} on this account.")
    return intent


async def get_setup_intent(
    session: AsyncSession, provider: PaymentProvider, account_id: str, setup_intent_id: str
) -> SetupIntentInfo:
    account = await accounts.get(session, account_id)
    assert account is not None, "the current account exists"
    return await _owned(provider, account, setup_intent_id)


async def add_card_from_setup_intent(
    session: AsyncSession,
    provider: PaymentProvider,
    account_id: str,
    setup_intent_id: str,
    now: datetime,
) -> tuple[Card, bool]:
    """The card a succeeded setup intent saved, added if it is not yet; True if added now."""
    account = await accounts.lock(session, account_id)
    intent = await _owned(provider, account, setup_intent_id)
    if intent.status is not SetupStatus.SUCCEEDED or intent.payment_method_id is None:
        raise SetupIntentIncomplete(
            f"Setup intent {setup_intent_id} is {intent.status.value}: the card is saved once "
            "the frontend has confirmed it (and the cardholder passed the bank's challenge)."
        )
    existing = await repository.get_by_provider_id(session, intent.payment_method_id)
    if existing is not None and existing.account_id == account_id:
        return existing, False
    card = await add_set_up_card(session, provider, account, intent.payment_method_id, now)
    return card, True


async def add_card_set_up_at_provider(
    session: AsyncSession,
    provider: PaymentProvider,
    customer_id: str,
    payment_method_id: str,
    now: datetime,
) -> Card | None:
    """The provider says a setup intent of this customer succeeded (webhook): its card is
    added unless it is already. A card the account cannot take (a duplicate, the limit) is
    left out, as `POST /v1/cards` would refuse it."""
    account_id = await accounts.id_by_customer(session, customer_id)
    if account_id is None:
        return None
    account = await accounts.lock(session, account_id)
    if await repository.get_by_provider_id(session, payment_method_id) is not None:
        return None
    try:
        return await add_set_up_card(session, provider, account, payment_method_id, now)
    except (CardAlreadyAdded, CardLimitReached) as exc:
        log_event(session, "card.not_added", payment_method=payment_method_id, reason=exc.code)
        return None
