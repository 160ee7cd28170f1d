"""The provider's webhooks: verified, applied once each, never moving anything backwards.

The provider delivers at least once, in any order, and retries an event until it gets a 2xx.
So an event's id is recorded in the transaction that applies it (a redelivery finds it and
does nothing; a failure records nothing, and the provider retries), and every handler is safe
to run on a stale event. Handlers only touch our database, the provider wanting a quick
answer, but one: a card saved by a setup intent is described by the provider (the event does
not carry its brand, digits and fingerprint).
"""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.cards.service import refresh_card, remove_detached_card
from app.cards.setup_intents import add_card_set_up_at_provider
from app.core.observability import log_event
from app.invoices.paying import apply_payment_event
from app.payments.events import (
    PaymentMethodDetached,
    PaymentMethodRenewed,
    PaymentReported,
    ProviderEvent,
    SetupSucceeded,
)
from app.payments.provider import PaymentProvider
from app.payments.stripe.webhooks import HANDLED_TYPES, provider_event, verified_event
from app.webhooks import repository
from app.webhooks.schemas import WebhookReceipt


async def _apply(
    session: AsyncSession, provider: PaymentProvider, event: ProviderEvent, now: datetime
) -> None:
    match event:
        case PaymentReported(invoice_id=None):
            return  # not a charge of one of our invoices
        case PaymentReported(invoice_id=str(invoice_id)):
            await apply_payment_event(
                session,
                invoice_id=invoice_id,
                provider_payment_id=event.provider_payment_id,
                status=event.status,
                failure_code=event.failure_code,
                now=now,
            )
        case SetupSucceeded():
            # The frontend may never call back after confirming: the card is added here then.
            await add_card_set_up_at_provider(
                session, provider, event.customer_id, event.payment_method_id, now
            )
        case PaymentMethodDetached():
            await remove_detached_card(session, event.payment_method_id, now)
        case PaymentMethodRenewed():
            await refresh_card(
                session,
                event.payment_method_id,
                last4=event.last4,
                exp_month=event.exp_month,
                exp_year=event.exp_year,
            )


async def receive_stripe_event(
    session: AsyncSession,
    provider: PaymentProvider,
    *,
    payload: bytes,
    signature: str | None,
    secret: str | None,
    now: datetime,
) -> WebhookReceipt:
    event = verified_event(payload, signature, secret)
    if event.type not in HANDLED_TYPES:
        return WebhookReceipt(event_id=event.id, outcome="ignored")
    meaning = provider_event(event)
    if not await repository.record(session, event.id, event.type, now):
        return WebhookReceipt(event_id=event.id, outcome="duplicate")
    if meaning is not None:
        await _apply(session, provider, meaning, now)
    log_event(session, "webhook.processed", event_id=event.id, type=event.type)
    return WebhookReceipt(event_id=event.id, outcome="processed")
