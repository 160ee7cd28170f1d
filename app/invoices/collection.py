"""Automatic collection: charge every invoice whose scheduled retry is due.

This is the worker behind `billing collect`. Outside a request there is no session
dependency, so the worker owns its transactions: one short transaction per invoice, so a
crash loses at most the invoice in hand (whose charge the provider then replays from its
idempotency key on the next run) and locks are held for one charge only.
"""

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import Clock
from app.core.errors import BillingError
from app.invoices import repository
from app.invoices.charging import charge_on_schedule
from app.invoices.retry import RetryPolicy
from app.models import PaymentOutcome
from app.payments.provider import ProviderFactory

logger = logging.getLogger("billing.collection")


@dataclass
class CollectionReport:
    charged: int = 0
    paid: int = 0
    failed: int = 0
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Collector:
    """What the worker needs: its own sessions, the provider, the clock and the retry policy."""

    sessionmaker: async_sessionmaker[AsyncSession]
    providers: ProviderFactory
    clock: Clock
    retry_policy: RetryPolicy


async def collect_due(collector: Collector, stop: asyncio.Event | None = None) -> CollectionReport:
    """Charge due invoices until none is left (or `stop` is set between two invoices)."""
    report = CollectionReport()
    while stop is None or not stop.is_set():
        now = collector.clock.now()
        invoice_id: str | None = None
        try:
            async with collector.sessionmaker() as session, session.begin():
                invoice = await repository.claim_due(session, now, exclude=report.skipped)
                if invoice is None:
                    break
                invoice_id = invoice.id
                attempt = await charge_on_schedule(
                    session,
                    collector.providers(session),
                    invoice,
                    now,
                    collector.retry_policy,
                    retries_made=invoice.retries_made + 1,
                )
        except BillingError as exc:
            if invoice_id is None:
                raise
            # The provider could not answer, or refused the request (a card that vanished at
            # the provider): the transaction rolled back, the invoice stays due, and this run
            # leaves it alone rather than retrying it in a loop.
            logger.warning("retry postponed", extra={"invoice_id": invoice_id, "error": exc.code})
            report.skipped.append(invoice_id)
            continue
        report.charged += 1
        if attempt.outcome is PaymentOutcome.SUCCEEDED:
            report.paid += 1
        else:
            report.failed += 1
    return report


async def collect_forever(collector: Collector, interval: float, stop: asyncio.Event) -> None:
    """Run `collect_due` every `interval` seconds until `stop` is set."""
    while not stop.is_set():
        report = await collect_due(collector, stop)
        logger.info(
            "collection pass",
            extra={"charged": report.charged, "paid": report.paid, "failed": report.failed},
        )
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            continue
