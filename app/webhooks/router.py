"""HTTP for the payment provider's webhooks: Stripe calls in, signed, without a bearer token."""

from typing import Annotated

from fastapi import Header, Request

from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.openapi import error_responses
from app.core.routing import BillingRouter
from app.core.runtime import ClockDep, SettingsDep
from app.payments.dependencies import ProviderDep
from app.payments.errors import InvalidSignature
from app.webhooks import service
from app.webhooks.schemas import WebhookReceipt

router = BillingRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post(
    "/stripe",
    responses=error_responses(InvalidSignature, NotFound),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def receive_stripe_webhook(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    provider: ProviderDep,
    stripe_signature: Annotated[
        str | None, Header(description="Stripe's `t=…,v1=…` signature of the body.")
    ] = None,
) -> WebhookReceipt:
    """Receive an event from Stripe (Stripe mode only)

    Called by Stripe, not by clients: no bearer token, the `Stripe-Signature` header is checked
    against `BILLING_STRIPE_WEBHOOK_SECRET` over the raw body. Each event id is applied once; a
    redelivery is acknowledged and does nothing. Acts on `payment_intent.succeeded`,
    `payment_intent.payment_failed`, `payment_intent.requires_action`, `setup_intent.succeeded`
    (adds the card if it is not yet), `payment_method.detached`, `payment_method.updated` and
    `payment_method.automatically_updated`; other types are acknowledged and ignored. 404 in
    sandbox mode.
    """
    # The signature covers the exact bytes Stripe sent, so the body is read raw, unparsed.
    payload = await request.body()
    secret = settings.stripe_webhook_secret
    return await service.receive_stripe_event(
        session,
        provider,
        payload=payload,
        signature=stripe_signature,
        secret=secret.get_secret_value() if secret is not None else None,
        now=clock.now(),
    )
