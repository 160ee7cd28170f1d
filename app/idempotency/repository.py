"""SQL for idempotency keys."""

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import upsert_insert
from app.models import IdempotencyKey


async def insert(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert the key unless the caller has it already; True if this insert made it.

    On PostgreSQL a concurrent insert of the same key waits for the first one's transaction
    and then does nothing: exactly one of them wins.
    """
    statement = (
        upsert_insert(session, IdempotencyKey)
        .values(values)
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.key)
    )
    return (await session.execute(statement)).first() is not None


async def get(session: AsyncSession, caller: str, key: str) -> IdempotencyKey | None:
    result = await session.execute(
        select(IdempotencyKey)
        .where(IdempotencyKey.caller == caller, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def remove(session: AsyncSession, caller: str, key: str, created_at: datetime) -> None:
    """Remove this use of the key (a later one, made meanwhile, stays)."""
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.caller == caller,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at == created_at,
        )
    )


async def remove_unfinished(session: AsyncSession, caller: str, key: str) -> None:
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.caller == caller,
            IdempotencyKey.key == key,
            IdempotencyKey.status.is_(None),
        )
    )


async def finish(
    session: AsyncSession,
    caller: str,
    key: str,
    *,
    status: int,
    headers: list[list[str]],
    body: bytes,
) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.caller == caller,
            IdempotencyKey.key == key,
            IdempotencyKey.status.is_(None),
        )
        .values(status=status, headers=headers, body=body)
    )


async def purge_expired(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
