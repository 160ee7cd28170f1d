"""SQL for accounts: creation on first sight, the per-account lock, invoice numbering, the
primary card an account pays with."""

import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Executable, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.db import dialect_name, table_of, upsert_insert_for
from app.core.locking import for_update
from app.models import Account, Card


def _new_invoice_prefix() -> str:
    return secrets.token_hex(4).upper()


@lru_cache(maxsize=2)
def _create_if_missing(dialect: str) -> Executable:
    """The first-sight upsert, built once per dialect; its values are bound per execution."""
    values: dict[str, Any] = {
        name: bindparam(name) for name in ("id", "created_at", "invoice_prefix")
    }
    insert = upsert_insert_for(dialect, Account).values(**values, last_invoice_number=0)
    return insert.on_conflict_do_nothing()


async def ensure(db: AsyncSession | AsyncConnection, account_id: str, now: datetime) -> None:
    """Create the account if it does not exist yet: one statement, safe under concurrency."""
    values = {"id": account_id, "created_at": now, "invoice_prefix": _new_invoice_prefix()}
    await db.execute(_create_if_missing(dialect_name(db)), values)


@dataclass(frozen=True, slots=True)
class AccountCustomer:
    """What the domains read of an account: its id and its customer at the provider, if it
    has one yet. A light row, read afresh by every statement: no ORM copy of the account is
    kept in a session, where a customer set since would go unseen."""

    id: str
    provider_customer_id: str | None


_accounts = Account.__table__.c
_CUSTOMER = select(_accounts.id, _accounts.provider_customer_id).where(
    _accounts.id == bindparam("account_id")
)
_LOCK = for_update(_CUSTOMER)


async def get(session: AsyncSession, account_id: str) -> AccountCustomer | None:
    row = (await session.execute(_CUSTOMER, {"account_id": account_id})).one_or_none()
    return None if row is None else AccountCustomer(*row)


async def lock(session: AsyncSession, account_id: str) -> AccountCustomer:
    """Take the account's row lock: card changes of one account run one at a time.

    On SQLite the whole transaction already holds the database write lock (BEGIN IMMEDIATE).
    """
    return AccountCustomer(*(await session.execute(_LOCK, {"account_id": account_id})).one())


async def take_invoice_number(session: AsyncSession, account_id: str) -> tuple[str, int]:
    """Reserve the account's next invoice number inside the caller's transaction.

    The UPDATE locks the account row until commit, so racing finalizations queue up, and a
    rollback returns the number: numbering stays gapless.
    """
    result = await session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(last_invoice_number=Account.last_invoice_number + 1)
        .returning(Account.invoice_prefix, Account.last_invoice_number)
    )
    prefix, number = result.one()
    return prefix, number


_SET_CUSTOMER = (
    update(table_of(Account))
    .where(_accounts.id == bindparam("account_id"))
    .values(provider_customer_id=bindparam("customer_id"))
)


async def set_customer_id(session: AsyncSession, account_id: str, customer_id: str) -> None:
    await session.execute(_SET_CUSTOMER, {"account_id": account_id, "customer_id": customer_id})


async def with_provider_customer(session: AsyncSession, only: str | None = None) -> list[str]:
    """Ids of the accounts that have a customer at the provider (or just `only`, if it has)."""
    query = select(Account.id).where(Account.provider_customer_id.is_not(None))
    if only is not None:
        query = query.where(Account.id == only)
    result = await session.execute(query.order_by(Account.id))
    return list(result.scalars())


async def primary_card(session: AsyncSession, account_id: str) -> Card | None:
    """The card the account pays with. Here, below cards and invoices, so both can ask."""
    result = await session.execute(
        select(Card).where(Card.account_id == account_id, Card.is_primary.is_(True))
    )
    return result.scalar_one_or_none()


async def id_by_customer(session: AsyncSession, customer_id: str) -> str | None:
    """The account whose customer at the provider this is."""
    result = await session.execute(
        select(Account.id).where(Account.provider_customer_id == customer_id)
    )
    return result.scalar_one_or_none()
