"""Stripe's event payloads, as much of them as we read, and our acknowledgement."""

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.core.schemas import Schema


class EventData(BaseModel):
    object: dict[str, Any]


class StripeEvent(BaseModel):
    """An event as Stripe posts it; fields we do not use are ignored."""

    id: str = Field(min_length=1, max_length=255)
    type: str = Field(min_length=1, max_length=100)
    data: EventData


class PaymentError(BaseModel):
    code: str | None = None
    decline_code: str | None = None


class PaymentIntentObject(BaseModel):
    id: str
    metadata: dict[str, str] = Field(default_factory=dict)
    last_payment_error: PaymentError | None = None


class CardObject(BaseModel):
    last4: str = Field(min_length=4, max_length=4)
    exp_month: int = Field(ge=1, le=12)
    exp_year: int


class PaymentMethodObject(BaseModel):
    id: str
    card: CardObject | None = None


class WebhookReceipt(Schema):
    """The event was accepted; Stripe needs nothing but the 2xx."""

    received: bool = Field(default=True, examples=[True])
    event_id: str = Field(examples=["evt_1QbX2Y3Z4a5b6c7d"])
    outcome: Literal["processed", "duplicate", "ignored"] = Field(
        description=(
            "`processed`: applied now; `duplicate`: this event id was applied before, nothing "
            "done; `ignored`: a type the service does not act on."
        ),
        examples=["processed"],
    )
