"""SQL for events, webhook endpoints and deliveries."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.db import table_of
from app.core.locking import for_update
from app.core.pagination import Cursor, after_cursor
from app.models.event import (
    DeliveryStatus,
    Event,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)

# --- events ------------------------------------------------------------------------------


_events = Event.__table__.c
_ADD_EVENT = insert(table_of(Event)).returning(_events.seq)


async def add_event(session: AsyncSession, values: dict[str, Any]) -> int:
    """Append an event (the outbox's row: a Core INSERT, nothing to load); its `seq`."""
    seq: int = (await session.execute(_ADD_EVENT, values)).scalar_one()
    return seq


async def get_event(session: AsyncSession, event_id: str) -> Event | None:
    result = await session.execute(select(Event).where(Event.id == event_id))
    return result.scalar_one_or_none()


async def list_events(
    session: AsyncSession,
    *,
    event_type: str | None,
    account_id: str | None,
    limit: int,
    before_seq: int | None,
) -> list[Event]:
    """One page, newest first, plus one row to tell whether another page follows."""
    statement = select(Event)
    if event_type is not None:
        statement = statement.where(Event.type == event_type)
    if account_id is not None:
        statement = statement.where(Event.account_id == account_id)
    if before_seq is not None:
        statement = statement.where(Event.seq < before_seq)
    statement = statement.order_by(Event.seq.desc()).limit(limit + 1)
    return list((await session.execute(statement)).scalars())


# --- endpoints ---------------------------------------------------------------------------


async def add_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    session.add(endpoint)
    await session.flush()


async def get_endpoint(session: AsyncSession, endpoint_id: str) -> WebhookEndpoint | None:
    return await session.get(WebhookEndpoint, endpoint_id)


async def remove_endpoint(session: AsyncSession, endpoint_id: str) -> bool:
    result = await session.execute(
        delete(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .returning(WebhookEndpoint.id)
    )
    return result.first() is not None


_endpoints = WebhookEndpoint.__table__.c
_SUBSCRIPTIONS: Select[Any] = select(_endpoints.id, _endpoints.events)


async def subscriptions(session: AsyncSession) -> Sequence[Row[Any]]:
    """Every endpoint's id and the events it takes: a platform has a handful, and each new
    event is matched against them."""
    rows: Sequence[Row[Any]] = (await session.execute(_SUBSCRIPTIONS)).all()
    return rows


async def list_endpoints(
    session: AsyncSession, limit: int, cursor: Cursor | None
) -> list[WebhookEndpoint]:
    statement = select(WebhookEndpoint)
    if cursor is not None:
        statement = statement.where(
            after_cursor(WebhookEndpoint.created_at, WebhookEndpoint.id, cursor)
        )
    statement = statement.order_by(
        WebhookEndpoint.created_at.desc(), WebhookEndpoint.id.desc()
    ).limit(limit + 1)
    return list((await session.execute(statement)).scalars())


# --- deliveries --------------------------------------------------------------------------


_ADD_DELIVERIES = insert(table_of(WebhookDelivery))


async def add_deliveries(session: AsyncSession, deliveries: list[dict[str, Any]]) -> None:
    if deliveries:
        await session.execute(_ADD_DELIVERIES, deliveries)


async def deliveries_of(session: AsyncSession, event_seq: int) -> list[tuple[WebhookDelivery, str]]:
    """An event's deliveries with their endpoint's URL, oldest first, attempts loaded."""
    statement = (
        select(WebhookDelivery, WebhookEndpoint.url)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.event_seq == event_seq)
        .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
        .options(selectinload(WebhookDelivery.attempts))
    )
    return [(delivery, url) for delivery, url in (await session.execute(statement)).all()]


async def claim_due(
    session: AsyncSession, now: datetime, limit: int
) -> list[tuple[WebhookDelivery, Event, WebhookEndpoint]]:
    """Due deliveries with their event and endpoint, locked for this worker alone.

    `FOR UPDATE … SKIP LOCKED`: workers share the queue without waiting for each other or
    taking the same delivery; a worker's locks go with its connection if it dies. Only the
    delivery rows are locked. (SQLite has no row locks and ignores the clause: one worker.)
    """
    statement = (
        select(WebhookDelivery, Event, WebhookEndpoint)
        .join(Event, Event.seq == WebhookDelivery.event_seq)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    locked = for_update(statement, skip_locked=True, of=WebhookDelivery)
    rows = (await session.execute(locked)).all()
    return [(delivery, event, endpoint) for delivery, event, endpoint in rows]


async def add_attempts(session: AsyncSession, attempts: Sequence[WebhookDeliveryAttempt]) -> None:
    session.add_all(attempts)
    await session.flush()


async def pending_queue(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many deliveries wait, and when the oldest of them was queued."""
    statement = select(func.count(), func.min(WebhookDelivery.created_at)).where(
        WebhookDelivery.status == DeliveryStatus.PENDING
    )
    count, oldest = (await session.execute(statement)).one()
    return int(count), oldest
