"""SQL for cards."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import table_of
from app.core.locking import for_update
from app.core.reads import LightRow, Reader
from app.invoices.repository import payment_due_exists
from app.models import Card, CardAddAttempt
from app.payments.card_expiry import month_index

_cards = Card.__table__.c
# The list's query, built once: the columns the API shows of a card, as light rows.
_SHOWN = ("id", "brand", "last4", "exp_month", "exp_year", "is_primary", "created_at")
_LIST: Select[Any] = (
    select(*(_cards[name] for name in _SHOWN))
    .where(_cards.account_id == bindparam("account_id"))
    .order_by(_cards.is_primary.desc(), _cards.created_at.desc(), _cards.id.desc())
)


async def list_rows(db: Reader, account_id: str) -> Sequence[LightRow]:
    """The account's cards as the API lists them: primary first, then newest."""
    return await db.all(_LIST, {"account_id": account_id})


async def list_for_account(session: AsyncSession, account_id: str) -> list[Card]:
    result = await session.execute(
        select(Card)
        .where(Card.account_id == account_id)
        .order_by(Card.is_primary.desc(), Card.created_at.desc(), Card.id.desc())
    )
    return list(result.scalars())


async def get(session: AsyncSession, account_id: str, card_id: str) -> Card | None:
    result = await session.execute(
        select(Card).where(Card.account_id == account_id, Card.id == card_id)
    )
    return result.scalar_one_or_none()


# The card as a switch of the primary card reads it: what the API shows, and what the
# provider is told.
_SWITCHED = (*_SHOWN, "account_id", "provider_payment_method_id")
_WITH_DUE: Select[Any] = select(
    *(_cards[name] for name in _SWITCHED), payment_due_exists(_cards.account_id).label("due")
).where(_cards.account_id == bindparam("account_id"), _cards.id == bindparam("card_id"))


async def get_with_due(
    session: AsyncSession, account_id: str, card_id: str
) -> tuple[Row[Any], bool] | None:
    """The account's card as a light row, and whether the account has `payment_due`
    invoices for a new primary card to pay, in one statement."""
    params = {"account_id": account_id, "card_id": card_id}
    row = (await session.execute(_WITH_DUE, params)).one_or_none()
    return None if row is None else (row, bool(row.due))


async def get_by_provider_id(session: AsyncSession, provider_payment_method_id: str) -> Card | None:
    result = await session.execute(
        select(Card).where(Card.provider_payment_method_id == provider_payment_method_id)
    )
    return result.scalar_one_or_none()


async def newest(session: AsyncSession, account_id: str) -> Card | None:
    result = await session.execute(
        select(Card)
        .where(Card.account_id == account_id)
        .order_by(Card.created_at.desc(), Card.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def count(session: AsyncSession, account_id: str) -> int:
    result = await session.execute(
        select(func.count()).select_from(Card).where(Card.account_id == account_id)
    )
    return result.scalar_one()


async def has_fingerprint(session: AsyncSession, account_id: str, fingerprint: str) -> bool:
    result = await session.execute(
        select(Card.id).where(Card.account_id == account_id, Card.fingerprint == fingerprint)
    )
    return result.first() is not None


async def add(session: AsyncSession, card: Card) -> None:
    session.add(card)
    await session.flush()


_CLEAR_PRIMARY = (
    update(table_of(Card))
    .where(
        _cards.account_id == bindparam("of_account"),
        _cards.is_primary.is_(True),
        _cards.id != bindparam("except_card"),
    )
    .values(is_primary=False)
)
_SET_PRIMARY = (
    update(table_of(Card))
    .where(_cards.id == bindparam("card_id"))
    .values(is_primary=True)
    .returning(*(_cards[name] for name in _SWITCHED))
)


async def make_primary(session: AsyncSession, account_id: str, card_id: str) -> Row[Any]:
    """Move the primary flag to the card; the card as it is now, a light row.

    The old primary is cleared first, in its own statement, so the partial unique index
    never sees two primaries at once. Both are UPDATEs of the table, which load no card: a
    card loaded in the session is not kept in step (`promote` is for one that is).
    """
    await session.execute(_CLEAR_PRIMARY, {"of_account": account_id, "except_card": card_id})
    return (await session.execute(_SET_PRIMARY, {"card_id": card_id})).one()


async def promote(session: AsyncSession, card: Card) -> None:
    """`make_primary` for a card loaded in the session, whose flag is read again after."""
    await make_primary(session, card.account_id, card.id)
    await session.refresh(card, ["is_primary"])


async def remove(session: AsyncSession, card: Card) -> None:
    await session.execute(delete(Card).where(Card.id == card.id))
    session.expunge(card)


async def account_of_payment_method(
    session: AsyncSession, provider_payment_method_id: str
) -> str | None:
    result = await session.execute(
        select(Card.account_id).where(Card.provider_payment_method_id == provider_payment_method_id)
    )
    return result.scalar_one_or_none()


async def update_details(
    session: AsyncSession, card: Card, *, last4: str, exp_month: int, exp_year: int
) -> None:
    card.last4 = last4
    card.exp_month = exp_month
    card.exp_year = exp_year
    await session.flush()


async def claim_unannounced_expiring(
    session: AsyncSession, *, first_month: int, before_month: int, limit: int
) -> list[Card]:
    """Cards expiring in [first_month, before_month) not yet announced for that expiry.

    Locked with SKIP LOCKED: concurrent scans take different cards, and a card whose change
    is in flight is left for the next scan.
    """
    expiry = month_index(Card.exp_year, Card.exp_month)
    statement = (
        select(Card)
        .where(
            expiry >= first_month,
            expiry < before_month,
            or_(Card.expiry_announced_for.is_(None), Card.expiry_announced_for != expiry),
        )
        .order_by(Card.id)
        .limit(limit)
    )
    return list((await session.execute(for_update(statement, skip_locked=True))).scalars())


async def recent_add_attempts(
    session: AsyncSession, account_id: str, since: datetime, limit: int
) -> list[datetime]:
    """When the account's newest card-add attempts after `since` were made, newest first."""
    result = await session.execute(
        select(CardAddAttempt.attempted_at)
        .where(CardAddAttempt.account_id == account_id, CardAddAttempt.attempted_at > since)
        .order_by(CardAddAttempt.attempted_at.desc())
        .limit(limit)
    )
    return list(result.scalars())


async def record_add_attempt(
    session: AsyncSession, account_id: str, now: datetime, forget_before: datetime
) -> None:
    """Count one card-add attempt; the account's attempts before `forget_before` go."""
    await session.execute(
        delete(CardAddAttempt).where(
            CardAddAttempt.account_id == account_id, CardAddAttempt.attempted_at <= forget_before
        )
    )
    session.add(CardAddAttempt(account_id=account_id, attempted_at=now))
    await session.flush()
