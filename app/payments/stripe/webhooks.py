"""Stripe's webhook events: the signature check, the payloads we read, what they mean to us.

Everything the webhook route needs from Stripe is here: it hands in the raw body and the
`Stripe-Signature` header and gets back a provider-neutral event (`app.payments.events`).
"""

import logging
from typing import Any, TypeVar

import stripe
from pydantic import BaseModel, Field, ValidationError

from app.core.errors import ValidationFailed, validation_problems
from app.payments.errors import InvalidSignature
from app.payments.events import (
    PaymentMethodDetached,
    PaymentMethodRenewed,
    PaymentReported,
    ProviderEvent,
    SetupSucceeded,
)
from app.payments.provider import PaymentStatus
from app.payments.stripe.errors import failure_of

logger = logging.getLogger("billing.webhooks")

# Stripe's own default: a signed event older than this is refused as a possible replay.
SIGNATURE_TOLERANCE_SECONDS = 300


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


class SetupIntentObject(BaseModel):
    id: str
    # Ids: Stripe sends expandable fields unexpanded in events.
    customer: str | None = None
    payment_method: str | None = None


class CardObject(BaseModel):
    last4: str = Field(min_length=4, max_length=4)
    exp_month: int = Field(ge=1, le=12)
    exp_year: int


class PaymentMethodObject(BaseModel):
    id: str
    card: CardObject | None = None


Model = TypeVar("Model", bound=BaseModel)


def _parse(model: type[Model], value: str | bytes | dict[str, Any]) -> Model:
    try:
        if isinstance(value, dict):
            return model.model_validate(value)
        return model.model_validate_json(value)
    except ValidationError as exc:
        raise ValidationFailed(validation_problems(list(exc.errors()))) from exc


def verified_event(payload: bytes, signature: str | None, secret: str | None) -> StripeEvent:
    """The event, once `Stripe-Signature` proves that Stripe signed this very body recently."""
    if secret is None:
        logger.error("BILLING_STRIPE_WEBHOOK_SECRET is not set: Stripe's webhooks are refused")
        raise InvalidSignature("Webhook signatures cannot be verified.")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
        )
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        raise InvalidSignature(
            "The Stripe-Signature header is missing, stale or does not match the body."
        ) from exc
    return _parse(StripeEvent, payload)


def _payment(data: dict[str, Any], status: PaymentStatus) -> PaymentReported:
    intent = _parse(PaymentIntentObject, data)
    failed = status is PaymentStatus.FAILED
    return PaymentReported(
        invoice_id=intent.metadata.get("invoice_id"),
        provider_payment_id=intent.id,
        status=status,
        failure_code=failure_of(intent.last_payment_error) if failed else None,
    )


def _setup(data: dict[str, Any]) -> SetupSucceeded | None:
    intent = _parse(SetupIntentObject, data)
    if intent.customer is None or intent.payment_method is None:
        return None
    return SetupSucceeded(customer_id=intent.customer, payment_method_id=intent.payment_method)


def _renewed(data: dict[str, Any]) -> PaymentMethodRenewed | None:
    method = _parse(PaymentMethodObject, data)
    if method.card is None:
        return None
    return PaymentMethodRenewed(
        payment_method_id=method.id,
        last4=method.card.last4,
        exp_month=method.card.exp_month,
        exp_year=method.card.exp_year,
    )


# The event types we act on; any other is acknowledged and ignored.
HANDLED_TYPES = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.requires_action",
        "setup_intent.succeeded",
        "payment_method.detached",
        "payment_method.updated",
        "payment_method.automatically_updated",
    }
)


def provider_event(event: StripeEvent) -> ProviderEvent | None:
    """What a handled event means to us; None when it asks nothing of us (a cardless update)."""
    data = event.data.object
    if event.type == "payment_intent.succeeded":
        return _payment(data, PaymentStatus.SUCCEEDED)
    if event.type == "payment_intent.payment_failed":
        return _payment(data, PaymentStatus.FAILED)
    if event.type == "payment_intent.requires_action":
        return _payment(data, PaymentStatus.REQUIRES_ACTION)
    if event.type == "setup_intent.succeeded":
        return _setup(data)
    if event.type == "payment_method.detached":
        return PaymentMethodDetached(_parse(PaymentMethodObject, data).id)
    return _renewed(data)
