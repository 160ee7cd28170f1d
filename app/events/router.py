"""HTTP for the platform's webhook endpoints and event log (admin scope)."""

from typing import Annotated

from fastapi import Depends, Query, Response, status

from app.core.auth import ADMIN_ERRORS, AdminScope
from app.core.db import SessionDep
from app.core.openapi import error_responses
from app.core.pagination import CursorParam, Limit
from app.core.routing import BillingRouter
from app.core.runtime import ClockDep, SettingsDep
from app.core.schemas import PlatformId
from app.events import service
from app.events.errors import EventNotFound, WebhookEndpointNotFound
from app.events.schemas import (
    Delivery,
    Event,
    EventDetail,
    EventList,
    WebhookEndpoint,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointList,
)
from app.events.secrets import SecretBox
from app.events.types import EventType
from app.models.event import Event as EventModel
from app.models.event import WebhookDelivery

router = BillingRouter(prefix="/v1/admin", tags=["events"])


async def get_secret_box(settings: SettingsDep) -> SecretBox:
    return SecretBox(settings.webhook_key)


SecretBoxDep = Annotated[SecretBox, Depends(get_secret_box)]


def _detail(event: EventModel, deliveries: list[tuple[WebhookDelivery, str]]) -> EventDetail:
    return EventDetail.model_validate(
        {
            **Event.model_validate(event).model_dump(),
            "deliveries": [Delivery.build(delivery, url) for delivery, url in deliveries],
        }
    )


@router.post(
    "/webhook-endpoints",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(*ADMIN_ERRORS),
)
async def create_webhook_endpoint(
    body: WebhookEndpointCreate,
    session: SessionDep,
    _admin: AdminScope,
    clock: ClockDep,
    box: SecretBoxDep,
) -> WebhookEndpointCreated:
    """Subscribe a URL to events

    Events of the chosen types are POSTed to the URL, signed per Standard Webhooks with the
    `secret` returned here, and only here.
    """
    endpoint, secret = await service.create_endpoint(session, box, body, clock.now())
    return WebhookEndpointCreated.model_validate(
        {**WebhookEndpoint.model_validate(endpoint).model_dump(), "secret": secret}
    )


@router.get(
    "/webhook-endpoints",
    responses=error_responses(*ADMIN_ERRORS),
)
async def list_webhook_endpoints(
    session: SessionDep, _admin: AdminScope, limit: Limit = 20, cursor: CursorParam = None
) -> WebhookEndpointList:
    """List the webhook endpoints

    Newest first; secrets are never listed.
    """
    return WebhookEndpointList.of(*await service.list_endpoints(session, limit, cursor))


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*ADMIN_ERRORS, WebhookEndpointNotFound),
)
async def delete_webhook_endpoint(
    endpoint_id: str, session: SessionDep, _admin: AdminScope
) -> Response:
    """Remove a webhook endpoint

    Nothing more is sent to it, including deliveries still pending.
    """
    await service.delete_endpoint(session, endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/events",
    responses=error_responses(*ADMIN_ERRORS),
)
async def list_events(
    session: SessionDep,
    _admin: AdminScope,
    type_: Annotated[EventType | None, Query(alias="type", description="Only this type.")] = None,
    account_id: Annotated[PlatformId | None, Query(description="Only this account's.")] = None,
    limit: Limit = 20,
    cursor: CursorParam = None,
) -> EventList:
    """List events

    Newest first, keyset-paginated; filter by type and account.
    """
    page = await service.list_events(
        session, event_type=type_, account_id=account_id, limit=limit, cursor=cursor
    )
    return EventList.of(page.events, page.has_more, page.next_cursor)


@router.get(
    "/events/{event_id}",
    responses=error_responses(*ADMIN_ERRORS, EventNotFound),
)
async def get_event(event_id: str, session: SessionDep, _admin: AdminScope) -> EventDetail:
    """Get an event with its deliveries

    Each delivery shows its latest attempt, when it is tried next, and its log.
    """
    return _detail(*await service.get_event(session, event_id))


@router.post(
    "/events/{event_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(*ADMIN_ERRORS, EventNotFound),
)
async def redeliver_event(
    event_id: str, session: SessionDep, _admin: AdminScope, clock: ClockDep
) -> EventDetail:
    """Deliver an event again

    Queues the event now, with a fresh retry schedule, for every endpoint that subscribes to its
    type today (failed deliveries included). Answers with the event and its deliveries; the new
    ones are `pending`.
    """
    await service.redeliver(session, event_id, clock.now())
    return _detail(*await service.get_event(session, event_id))
