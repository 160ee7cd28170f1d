"""SQL for webhook events: the record of which provider events were already applied."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import upsert_insert
from app.models import WebhookEvent


async def record(session: AsyncSession, event_id: str, event_type: str, now: datetime) -> bool:
    """Record the event id; False if it was recorded before.

    One statement on the primary key: a concurrent redelivery waits for the first one's
    transaction and then finds the id taken, so an event is applied at most once.
    """
    result = await session.execute(
        upsert_insert(session, WebhookEvent)
        .values(id=event_id, type=event_type, received_at=now)
        .on_conflict_do_nothing()
        .returning(WebhookEvent.id)
    )
    return result.scalar_one_or_none() is not None
