"""Card rules: the first card is primary, exactly one primary per account, primary never removed.

Every change takes the account's row lock first (`accounts.lock`), so concurrent changes of
one account's cards run one after another and the invariant holds under any concurrency;
the partial unique index on `cards` backs it up in the database itself.
"""

from collections.abc import Sequence
from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import repository as accounts
from app.accounts.repository import AccountCustomer
from app.accounts.service import ensure_customer
from app.cards import repository
from app.cards.errors import (
    CardAlreadyAdded,
    CardExpired,
    CardLimitReached,
    CardNotFound,
    PrimaryCardCannotBeDeleted,
)
from app.cards.rate_limit import admit_card_add
from app.cards.schemas import Card as CardView
from app.cards.schemas import CardFields
from app.core.config import RateLimit
from app.core.db import after_commit
from app.core.ids import new_id
from app.core.lookup import found
from app.core.observability import log_event
from app.core.reads import LightRow, Reader
from app.events import service as events
from app.events.types import EventType
from app.invoices.paying import pay_due_with_new_primary
from app.models import Card
from app.payments.card_expiry import is_earlier_expiry, is_expired
from app.payments.provider import PaymentMethodInfo, PaymentProvider, card_facts

MAX_CARDS_PER_ACCOUNT = 10


async def _announce(
    session: AsyncSession, account_id: str, card: CardFields, event_type: EventType, now: datetime
) -> None:
    """Record the event in the change's transaction, with the card as the API shows it."""
    await events.record(session, event_type, account_id, CardView.build(card, now), now)


async def list_cards(db: Reader, account_id: str) -> Sequence[LightRow]:
    return await repository.list_rows(db, account_id)


async def _get(session: AsyncSession, account_id: str, card_id: str) -> Card:
    card = await repository.get(session, account_id, card_id)
    return found(card, CardNotFound, f"No card {card_id} on this account.")


async def add_card(
    session: AsyncSession,
    provider: PaymentProvider,
    account_id: str,
    payment_method: str,
    now: datetime,
    limit: RateLimit,
) -> Card:
    """Add a card; the account's first card becomes primary and pays what is due at once.

    The attempt counts towards the card-add `limit` (429 once it is reached) and is committed
    as counted before the provider is asked anything, so a declined card counts too."""
    await admit_card_add(session, account_id, now, limit)
    account = await accounts.lock(session, account_id)
    customer_id = await _room_for_a_card(session, provider, account)
    # Duplicates are refused before anything is attached, so a refused card leaves no trace
    # at the provider.
    described = await provider.retrieve_payment_method(payment_method)
    await _refuse_duplicate(session, account_id, described)
    attached = await provider.attach_payment_method(customer_id, described.provider_id)
    return await _keep(session, provider, account_id, customer_id, attached, now)


async def add_set_up_card(
    session: AsyncSession,
    provider: PaymentProvider,
    account: AccountCustomer,
    payment_method: str,
    now: datetime,
) -> Card:
    """Add the card a succeeded setup intent saved; the caller holds the account's lock."""
    customer_id = await _room_for_a_card(session, provider, account)
    saved = await provider.saved_payment_method(customer_id, payment_method)
    await _refuse_duplicate(session, account.id, saved)
    return await _keep(session, provider, account.id, customer_id, saved, now)


async def _room_for_a_card(
    session: AsyncSession, provider: PaymentProvider, account: AccountCustomer
) -> str:
    """The account's provider customer, if the account may hold one more card."""
    if await repository.count(session, account.id) >= MAX_CARDS_PER_ACCOUNT:
        raise CardLimitReached(
            f"An account holds at most {MAX_CARDS_PER_ACCOUNT} cards; remove one first."
        )
    return await ensure_customer(session, provider, account)


async def _refuse_duplicate(
    session: AsyncSession, account_id: str, method: PaymentMethodInfo
) -> None:
    if await repository.has_fingerprint(session, account_id, method.fingerprint):
        raise CardAlreadyAdded(f"This {method.brand} card ending {method.last4} is already added.")


async def _keep(
    session: AsyncSession,
    provider: PaymentProvider,
    account_id: str,
    customer_id: str,
    method: PaymentMethodInfo,
    now: datetime,
) -> Card:
    is_first = await repository.count(session, account_id) == 0
    card = Card(
        id=new_id("card"),
        account_id=account_id,
        provider_payment_method_id=method.provider_id,
        fingerprint=method.fingerprint,
        **card_facts(method),
        is_primary=is_first,
        created_at=now,
    )
    await repository.add(session, card)
    await _announce(session, card.account_id, card, EventType.CARD_ADDED, now)
    if card.is_primary:
        await provider.set_default_payment_method(customer_id, card.provider_payment_method_id)
        await pay_due_with_new_primary(session, provider, account_id, now)
    log_event(session, "card.added", card_id=card.id, brand=card.brand, is_primary=card.is_primary)
    return card


async def set_primary(
    session: AsyncSession,
    provider: PaymentProvider,
    account_id: str,
    card_id: str,
    now: datetime,
) -> CardFields:
    """Make the card primary, then charge the account's due invoices to it at once.

    A declined retry is recorded on its invoice and the switch still succeeds.
    """
    account = await accounts.lock(session, account_id)
    # Read under the lock; with it, whether any invoice is due (it seldom is), which saves
    # the contended path a statement.
    card, anything_due = found(
        await repository.get_with_due(session, account_id, card_id),
        CardNotFound,
        f"No card {card_id} on this account.",
    )
    if card.is_primary:
        return card
    if is_expired(card.exp_year, card.exp_month, now):
        raise CardExpired(f"Card {card_id} has expired; add a valid card instead.")
    card = await repository.make_primary(session, account_id, card_id)
    await _announce(session, account_id, card, EventType.CARD_PRIMARY_CHANGED, now)
    customer_id = await ensure_customer(session, provider, account)
    await provider.set_default_payment_method(customer_id, card.provider_payment_method_id)
    log_event(session, "card.primary_switched", card_id=card.id)
    if anything_due:
        await pay_due_with_new_primary(session, provider, account_id, now)
    return card


async def delete_card(
    session: AsyncSession, provider: PaymentProvider, account_id: str, card_id: str, now: datetime
) -> None:
    await accounts.lock(session, account_id)
    card = await _get(session, account_id, card_id)
    if card.is_primary:
        raise PrimaryCardCannotBeDeleted(
            "The primary card cannot be removed; make another card primary first."
        )
    # Our row goes first and is committed; only then does the provider detach. A failure
    # here, up to and including the commit, leaves the card on both sides. A failure of the
    # detach after the commit leaves it attached at the provider but gone here: nothing
    # charges it (only the primary card we hold is charged) and `billing stripe-sync`
    # detaches it. Detaching inside the transaction instead could leave, on a failed
    # commit, a card here that the provider no longer has, and every charge to it would fail.
    await _announce(session, card.account_id, card, EventType.CARD_REMOVED, now)
    await repository.remove(session, card)
    after_commit(session, partial(provider.detach_payment_method, card.provider_payment_method_id))
    log_event(session, "card.removed", card_id=card.id)


async def _locked_card_of(session: AsyncSession, payment_method_id: str) -> Card | None:
    """The card of a provider payment method, under its account's lock (webhooks)."""
    account_id = await repository.account_of_payment_method(session, payment_method_id)
    if account_id is None:
        return None
    await accounts.lock(session, account_id)
    # Read again under the lock: the card may have been removed or made primary meanwhile.
    return await repository.get_by_provider_id(session, payment_method_id)


async def remove_detached_card(
    session: AsyncSession, payment_method_id: str, now: datetime
) -> Card | None:
    """The provider detached a payment method: its card goes here too (webhooks).

    If it was the primary card, the newest remaining card becomes primary, so the account
    keeps exactly one. Nothing is asked of the provider: its side is already done.
    """
    card = await _locked_card_of(session, payment_method_id)
    if card is None:
        return None
    await remove_gone_cards(session, card.account_id, [card], now)
    return card


async def remove_gone_cards(
    session: AsyncSession, account_id: str, gone: list[Card], now: datetime
) -> Card | None:
    """Remove cards the provider no longer has; the caller holds the account's lock.

    Returns the card promoted to primary if the primary was among them: the newest remaining.
    """
    for card in gone:
        await _announce(session, card.account_id, card, EventType.CARD_REMOVED, now)
        await repository.remove(session, card)
        log_event(session, "card.removed", card_id=card.id, reason="gone_at_provider")
    if await accounts.primary_card(session, account_id) is not None:
        return None
    successor = await repository.newest(session, account_id)
    if successor is not None:
        await repository.promote(session, successor)
        await _announce(
            session, successor.account_id, successor, EventType.CARD_PRIMARY_CHANGED, now
        )
        log_event(session, "card.primary_switched", card_id=successor.id, reason="primary_gone")
    return successor


async def refresh_card(
    session: AsyncSession, payment_method_id: str, *, last4: str, exp_month: int, exp_year: int
) -> Card | None:
    """The provider renewed a card: a new expiry, maybe new last digits (webhooks)."""
    card = await _locked_card_of(session, payment_method_id)
    if card is None:
        return None
    if is_earlier_expiry(exp_year, exp_month, card.exp_year, card.exp_month):
        # Events can arrive out of order, and a renewal only ever moves the expiry forward:
        # an earlier expiry is a stale event. `billing stripe-sync` takes Stripe's state as is.
        return card
    if await take_provider_details(
        session, card, last4=last4, exp_month=exp_month, exp_year=exp_year
    ):
        log_event(session, "card.refreshed", card_id=card.id)
    return card


def details_changed(card: Card, *, last4: str, exp_month: int, exp_year: int) -> bool:
    """Whether the provider's last digits and expiry differ from the card's."""
    return (card.last4, card.exp_month, card.exp_year) != (last4, exp_month, exp_year)


async def take_provider_details(
    session: AsyncSession, card: Card, *, last4: str, exp_month: int, exp_year: int
) -> bool:
    """Take the provider's expiry and last digits; False if nothing changed."""
    if not details_changed(card, last4=last4, exp_month=exp_month, exp_year=exp_year):
        return False
    await repository.update_details(
        session, card, last4=last4, exp_month=exp_month, exp_year=exp_year
    )
    return True
