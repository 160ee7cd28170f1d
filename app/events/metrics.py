"""Prometheus series of the webhook deliveries."""

from datetime import datetime

from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncSession

from app.events import repository

DELIVERY_ATTEMPTS = Counter(
    "billing_webhook_delivery_attempts_total",
    "Webhook delivery attempts by outcome: succeeded; retrying (failed, another attempt is "
    "scheduled); failed (the last scheduled attempt failed).",
    ["outcome"],
)
QUEUE_PENDING = Gauge(
    "billing_webhook_deliveries_pending",
    "Webhook deliveries not yet delivered (due now or scheduled for a retry).",
    multiprocess_mode="mostrecent",
)
QUEUE_OLDEST_AGE = Gauge(
    "billing_webhook_oldest_pending_delivery_age_seconds",
    "How long the oldest pending webhook delivery has waited since its event; 0 when none.",
    multiprocess_mode="mostrecent",
)


def count_attempt(outcome: str) -> None:
    DELIVERY_ATTEMPTS.labels(outcome=outcome).inc()


async def measure_queue(session: AsyncSession, now: datetime) -> None:
    """Read the delivery queue's length and age into the gauges (each scrape does)."""
    pending, oldest = await repository.pending_queue(session)
    QUEUE_PENDING.set(pending)
    QUEUE_OLDEST_AGE.set(0 if oldest is None else max(0.0, (now - oldest).total_seconds()))
