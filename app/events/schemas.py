from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, HttpUrl, WithJsonSchema, field_validator

from app.core.pagination import Page
from app.core.schemas import InputSchema, Schema, UtcDatetime
from app.events.types import ALL_EVENTS, EventType
from app.models.event import DeliveryStatus, WebhookDelivery

SUBSCRIBABLE = (*(event_type.value for event_type in EventType), ALL_EVENTS)


def _subscribable(value: str) -> str:
    if value not in SUBSCRIBABLE:
        raise ValueError(f"not an event type; one of: {', '.join(SUBSCRIBABLE)}")
    return value


# A plain string checked by hand rather than `EventType | Literal["*"]`: a union names its
# members in every error ("events.0.str-enum[EventType]"), this names the field.
Subscription = Annotated[
    str,
    AfterValidator(_subscribable),
    WithJsonSchema({"type": "string", "enum": list(SUBSCRIBABLE)}),
]


class WebhookEndpointCreate(InputSchema):
    url: HttpUrl = Field(
        description="Where events are POSTed: an http or https URL. Redirects are not followed.",
        examples=["https://platform.example/hooks/billing"],
    )
    events: list[Subscription] = Field(
        min_length=1,
        max_length=len(EventType) + 1,
        description='The event types to receive, or `["*"]` for all (including future types).',
        examples=[["invoice.payment_failed", "invoice.not_paid"]],
    )
    description: str | None = Field(default=None, max_length=500, examples=["Suspensions"])

    @field_validator("url")
    @classmethod
    def _plain_url(cls, value: HttpUrl) -> HttpUrl:
        if len(str(value)) > 2048:
            raise ValueError("URL should have at most 2048 characters")
        if value.username is not None or value.password is not None:
            raise ValueError("URL must not carry credentials; authenticate by the signature")
        return value

    @field_validator("events")
    @classmethod
    def _distinct(cls, value: list[Subscription]) -> list[Subscription]:
        if len(set(value)) != len(value):
            raise ValueError("each event type may be listed once")
        if ALL_EVENTS in value and len(value) > 1:
            raise ValueError('"*" already includes every event type; list it alone')
        return value


class WebhookEndpoint(Schema):
    id: str = Field(examples=["we_3kT9bXkq3LmN4pQr5StU6vWx"])
    url: str = Field(examples=["https://platform.example/hooks/billing"])
    events: list[str] = Field(examples=[["invoice.payment_failed", "invoice.not_paid"]])
    description: str | None = Field(examples=["Suspensions"])
    created_at: UtcDatetime


class WebhookEndpointCreated(WebhookEndpoint):
    secret: str = Field(
        description=(
            "The signing secret (Standard Webhooks). Shown in this response only: store it now."
        ),
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class WebhookEndpointList(Page[WebhookEndpoint]):
    """The platform's webhook endpoints, newest first (secrets are never listed)."""


class EventData(Schema):
    object: dict[str, Any] = Field(
        description="The invoice, card or billing details as the API showed it after the change."
    )


class Event(Schema):
    """What the platform receives: the body of every delivery, signed."""

    id: str = Field(
        description="Also the `webhook-id` header: de-duplicate by it.",
        examples=["evt_2bXkq3LmN4pQr5StU6vWx7yZ"],
    )
    type: EventType
    created_at: UtcDatetime
    account_id: str = Field(examples=["acct_42"])
    data: EventData


class EventList(Page[Event]):
    """Events, newest first."""


class DeliveryAttempt(Schema):
    attempted_at: UtcDatetime
    status_code: int | None = Field(description="The endpoint's answer; null if none came.")
    outcome: Literal["succeeded", "failed"]
    error: str | None = Field(examples=["HTTP 500"])


class Delivery(Schema):
    """The event on its way to one endpoint; the latest attempt's figures first."""

    id: str = Field(examples=["dlv_9aB8cD7eF6gH5iJ4kL3mN2oP"])
    endpoint_id: str
    url: str
    outcome: DeliveryStatus = Field(
        description="`pending` until delivered (retried meanwhile), `succeeded`, or `failed` "
        "after the last scheduled attempt."
    )
    attempted_at: UtcDatetime | None = Field(description="The latest attempt; null before one.")
    status_code: int | None = Field(description="The latest attempt's HTTP status.")
    next_attempt: UtcDatetime | None = Field(description="When it is tried next, if pending.")
    attempt_count: int
    attempts: list[DeliveryAttempt]

    @classmethod
    def build(cls, delivery: WebhookDelivery, url: str) -> "Delivery":
        attempts = [
            DeliveryAttempt(
                attempted_at=attempt.attempted_at,
                status_code=attempt.status_code,
                outcome="succeeded" if attempt.succeeded else "failed",
                error=attempt.error,
            )
            for attempt in delivery.attempts
        ]
        latest = attempts[-1] if attempts else None
        return cls(
            id=delivery.id,
            endpoint_id=delivery.endpoint_id,
            url=url,
            outcome=delivery.status,
            attempted_at=latest.attempted_at if latest else None,
            status_code=latest.status_code if latest else None,
            next_attempt=delivery.next_attempt_at,
            attempt_count=delivery.attempt_count,
            attempts=attempts,
        )


class EventDetail(Event):
    deliveries: list[Delivery]
