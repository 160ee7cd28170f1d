"""Events to the platform: the outbox, the webhook endpoints and the delivery bookkeeping.

`record` is called by the other domains' services inside the transaction that makes the
change: the event and its deliveries commit with the change or not at all. Sending is the
delivery workers' job (app/events/delivery.py); this module decides what an attempt's
outcome does to its delivery.
"""

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import FieldProblem, ValidationFailed
from app.core.ids import new_id
from app.core.lookup import found
from app.core.pagination import Cursor, paginate
from app.events import repository
from app.events.errors import EventNotFound, WebhookEndpointNotFound
from app.events.schemas import WebhookEndpointCreate
from app.events.secrets import SecretBox, new_signing_secret
from app.events.sender import SendResult
from app.events.types import ALL_EVENTS, EventType
from app.models.event import (
    DeliveryStatus,
    Event,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)

# After the first attempt fails, the next ones wait this long each (about 27 hours in all);
# when the last fails the delivery is `failed`, and only a redelivery sends it again.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1

_CURSOR_PREFIX = "evt:"


# --- the outbox --------------------------------------------------------------------------


def _subscribes(events: list[str], event_type: str) -> bool:
    return ALL_EVENTS in events or event_type in events


async def _queue(session: AsyncSession, event_seq: int, event_type: str, now: datetime) -> None:
    """A pending delivery of the event to each endpoint that subscribes to its type."""
    deliveries = [
        {
            "id": new_id("dlv"),
            "event_seq": event_seq,
            "endpoint_id": endpoint.id,
            "status": DeliveryStatus.PENDING,
            "attempt_count": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for endpoint in await repository.subscriptions(session)
        if _subscribes(endpoint.events, event_type)
    ]
    await repository.add_deliveries(session, deliveries)


async def record(
    session: AsyncSession,
    event_type: EventType,
    account_id: str,
    resource: BaseModel,
    now: datetime,
) -> str:
    """Write the event for a change in the caller's transaction, queued for its endpoints;
    its id.

    `resource` is the response schema of the changed resource, so the platform receives
    exactly what the API shows.
    """
    event_id = new_id("evt")
    event = {
        "id": event_id,
        "type": event_type.value,
        "account_id": account_id,
        "data": {"object": resource.model_dump(mode="json")},
        "created_at": now,
    }
    await _queue(session, await repository.add_event(session, event), event_type.value, now)
    return event_id


# --- the event log -----------------------------------------------------------------------


def encode_cursor(event: Event) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{event.seq}".encode()).decode().rstrip("=")


def _decode_cursor(value: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        if not raw.startswith(_CURSOR_PREFIX):
            raise ValueError("not an event cursor")
        return int(raw.removeprefix(_CURSOR_PREFIX))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            [FieldProblem(field="cursor", message="Not a cursor from next_cursor.", type="invalid")]
        ) from exc


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[Event]
    has_more: bool
    next_cursor: str | None


async def list_events(
    session: AsyncSession,
    *,
    event_type: EventType | None,
    account_id: str | None,
    limit: int,
    cursor: str | None,
) -> EventPage:
    rows = await repository.list_events(
        session,
        event_type=event_type.value if event_type is not None else None,
        account_id=account_id,
        limit=limit,
        before_seq=_decode_cursor(cursor) if cursor is not None else None,
    )
    page, has_more = rows[:limit], len(rows) > limit
    return EventPage(page, has_more, encode_cursor(page[-1]) if has_more else None)


async def get_event(
    session: AsyncSession, event_id: str
) -> tuple[Event, list[tuple[WebhookDelivery, str]]]:
    """The event with its deliveries, each with its endpoint's URL."""
    event = found(
        await repository.get_event(session, event_id), EventNotFound, f"No event {event_id}."
    )
    return event, await repository.deliveries_of(session, event.seq)


async def redeliver(session: AsyncSession, event_id: str, now: datetime) -> Event:
    """Queue the event again, now, for every endpoint that subscribes to it today.

    A new delivery each, with a fresh schedule; earlier deliveries keep their log.
    """
    event = found(
        await repository.get_event(session, event_id), EventNotFound, f"No event {event_id}."
    )
    await _queue(session, event.seq, event.type, now)
    return event


# --- endpoints ---------------------------------------------------------------------------


async def create_endpoint(
    session: AsyncSession, box: SecretBox, body: WebhookEndpointCreate, now: datetime
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret, which is returned here and never again."""
    endpoint_id = new_id("we")
    secret = new_signing_secret()
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        url=str(body.url),
        description=body.description,
        events=list(body.events),
        encrypted_secret=box.seal(endpoint_id, secret),
        created_at=now,
    )
    await repository.add_endpoint(session, endpoint)
    return endpoint, secret


async def list_endpoints(
    session: AsyncSession, limit: int, cursor: str | None
) -> tuple[list[WebhookEndpoint], bool, str | None]:
    position = Cursor.decode(cursor) if cursor is not None else None
    return paginate(await repository.list_endpoints(session, limit, position), limit)


async def delete_endpoint(session: AsyncSession, endpoint_id: str) -> None:
    """Remove the endpoint; its deliveries, sent or not, go with it."""
    if not await repository.remove_endpoint(session, endpoint_id):
        raise WebhookEndpointNotFound(f"No webhook endpoint {endpoint_id}.")


# --- delivery bookkeeping ----------------------------------------------------------------


def _advance(delivery: WebhookDelivery, attempted_at: datetime, succeeded: bool) -> None:
    delivery.attempt_count += 1
    if succeeded:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.next_attempt_at = None
    elif delivery.attempt_count < MAX_ATTEMPTS:
        delivery.next_attempt_at = attempted_at + RETRY_DELAYS[delivery.attempt_count - 1]
    else:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None


async def record_attempts(
    session: AsyncSession,
    outcomes: Sequence[tuple[WebhookDelivery, SendResult]],
    attempted_at: datetime,
) -> None:
    """Log a batch of HTTP attempts and move each delivery on: done, retried later, failed."""
    attempts = []
    for delivery, result in outcomes:
        attempts.append(
            WebhookDeliveryAttempt(
                delivery_id=delivery.id,
                attempted_at=attempted_at,
                status_code=result.status_code,
                succeeded=result.error is None,
                error=result.error,
            )
        )
        _advance(delivery, attempted_at, result.error is None)
    await repository.add_attempts(session, attempts)
