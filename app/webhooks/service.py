"""Stripe's webhooks: verified, applied once each, never moving anything backwards.

Stripe delivers at least once, in any order, and retries an event until it gets a 2xx. So an
event's id is recorded in the transaction that applies it (a redelivery finds it and does
nothing; a failure records nothing, and Stripe retries), and every handler is safe to run on
a stale event. Handlers only touch our database: Stripe wants a quick answer.
"""

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

import stripe
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.cards.service import refresh_card, remove_detached_card
from app.core.errors import ValidationFailed, validation_problems
from app.core.observability import log_event
from app.invoices.service import apply_payment_event
from app.payments.errors import InvalidSignature, decline_code
from app.webhooks import repository
from app.webhooks.schemas import (
    PaymentIntentObject,
    PaymentMethodObject,
    StripeEvent,
    WebhookReceipt,
)

logger = logging.getLogger("billing.webhooks")

# Stripe's own default: a signed event older than this is refused as a possible replay.
SIGNATURE_TOLERANCE_SECONDS = 300

Model = TypeVar("Model", bound=BaseModel)
Handler = Callable[[AsyncSession, dict[str, Any], datetime], Awaitable[None]]


def _parse(model: type[Model], value: str | bytes | dict[str, Any]) -> Model:
    try:
        if isinstance(value, dict):
            return model.model_validate(value)
        return model.model_validate_json(value)
    except ValidationError as exc:
        raise ValidationFailed(validation_problems(list(exc.errors()))) from exc


def _verified(payload: bytes, signature: str | None, secret: str | None) -> StripeEvent:
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


async def _payment_intent(
    session: AsyncSession, data: dict[str, Any], now: datetime, *, succeeded: bool
) -> None:
    intent = _parse(PaymentIntentObject, data)
    invoice_id = intent.metadata.get("invoice_id")
    if invoice_id is None:
        # Not a charge of one of our invoices.
        return
    decline = None
    if not succeeded:
        error = intent.last_payment_error
        decline = decline_code((error.decline_code or error.code) if error is not None else None)
    await apply_payment_event(
        session,
        invoice_id=invoice_id,
        provider_payment_id=intent.id,
        succeeded=succeeded,
        decline_code=decline,
        now=now,
    )


async def _payment_method_detached(
    session: AsyncSession, data: dict[str, Any], _now: datetime
) -> None:
    method = _parse(PaymentMethodObject, data)
    await remove_detached_card(session, method.id)


async def _payment_method_updated(
    session: AsyncSession, data: dict[str, Any], _now: datetime
) -> None:
    method = _parse(PaymentMethodObject, data)
    if method.card is None:
        return
    await refresh_card(
        session,
        method.id,
        last4=method.card.last4,
        exp_month=method.card.exp_month,
        exp_year=method.card.exp_year,
    )


HANDLERS: dict[str, Handler] = {
    "payment_intent.succeeded": partial(_payment_intent, succeeded=True),
    "payment_intent.payment_failed": partial(_payment_intent, succeeded=False),
    "payment_method.detached": _payment_method_detached,
    "payment_method.updated": _payment_method_updated,
    "payment_method.automatically_updated": _payment_method_updated,
}


async def receive_stripe_event(
    session: AsyncSession,
    *,
    payload: bytes,
    signature: str | None,
    secret: str | None,
    now: datetime,
) -> WebhookReceipt:
    event = _verified(payload, signature, secret)
    handler = HANDLERS.get(event.type)
    if handler is None:
        return WebhookReceipt(event_id=event.id, outcome="ignored")
    if not await repository.record(session, event.id, event.type, now):
        return WebhookReceipt(event_id=event.id, outcome="duplicate")
    await handler(session, event.data.object, now)
    log_event("webhook.processed", event_id=event.id, type=event.type)
    return WebhookReceipt(event_id=event.id, outcome="processed")
