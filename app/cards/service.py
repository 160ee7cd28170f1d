"""Card rules: the first card is primary, exactly one primary per account, primary never removed.

Every change takes the account's row lock first (`accounts.lock`), so concurrent changes of
one account's cards run one after another and the invariant holds under any concurrency;
the partial unique index on `cards` backs it up in the database itself.
"""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import repository as accounts
from app.accounts.service import ensure_customer
from app.cards import repository
from app.cards.schemas import is_expired
from app.core.errors import (
    CardAlreadyAdded,
    CardExpired,
    CardLimitReached,
    CardNotFound,
    PrimaryCardCannotBeDeleted,
)
from app.core.ids import new_id
from app.models import Card
from app.payments.provider import PaymentProvider

MAX_CARDS_PER_ACCOUNT = 10


async def list_cards(session: AsyncSession, account_id: str) -> list[Card]:
    return await repository.list_for_account(session, account_id)


async def _get(session: AsyncSession, account_id: str, card_id: str) -> Card:
    card = await repository.get(session, account_id, card_id)
    if card is None:
        raise CardNotFound(f"No card {card_id} on this account.")
    return card


async def add_card(
    session: AsyncSession,
    provider: PaymentProvider,
    account_id: str,
    payment_method: str,
    now: datetime,
) -> Card:
    account = await accounts.lock(session, account_id)
    existing = await repository.count(session, account_id)
    if existing >= MAX_CARDS_PER_ACCOUNT:
        raise CardLimitReached(
            f"An account holds at most {MAX_CARDS_PER_ACCOUNT} cards; remove one first."
        )
    customer_id = await ensure_customer(session, provider, account)
    # Duplicates are refused before anything is attached, so a refused card leaves no trace
    # at the provider.
    described = await provider.retrieve_payment_method(payment_method)
    if await repository.has_fingerprint(session, account_id, described.fingerprint):
        raise CardAlreadyAdded(
            f"This {described.brand} card ending {described.last4} is already added."
        )
    attached = await provider.attach_payment_method(customer_id, described.provider_id)
    card = Card(
        id=new_id("card"),
        account_id=account_id,
        provider_payment_method_id=attached.provider_id,
        fingerprint=attached.fingerprint,
        brand=attached.brand,
        last4=attached.last4,
        exp_month=attached.exp_month,
        exp_year=attached.exp_year,
        is_primary=existing == 0,
        created_at=now,
    )
    await repository.add(session, card)
    if card.is_primary:
        await provider.set_default_payment_method(customer_id, card.provider_payment_method_id)
    return card


async def set_primary(
    session: AsyncSession,
    provider: PaymentProvider,
    account_id: str,
    card_id: str,
    now: datetime,
) -> Card:
    account = await accounts.lock(session, account_id)
    card = await _get(session, account_id, card_id)
    if card.is_primary:
        return card
    if is_expired(card, now):
        raise CardExpired(f"Card {card_id} has expired; add a valid card instead.")
    await repository.make_primary(session, card)
    customer_id = await ensure_customer(session, provider, account)
    await provider.set_default_payment_method(customer_id, card.provider_payment_method_id)
    return card


async def delete_card(
    session: AsyncSession, provider: PaymentProvider, account_id: str, card_id: str
) -> None:
    await accounts.lock(session, account_id)
    card = await _get(session, account_id, card_id)
    if card.is_primary:
        raise PrimaryCardCannotBeDeleted(
            "The primary card cannot be removed; make another card primary first."
        )
    # Our row goes first (flushed, not yet committed), then the provider detaches. If the
    # provider fails, the transaction rolls back and the card is still on both sides. If the
    # commit fails after a detach, the card is at worst gone at the provider but still here,
    # which the payment_method.detached webhook and `billing stripe-sync` repair.
    await repository.remove(session, card)
    await provider.detach_payment_method(card.provider_payment_method_id)
