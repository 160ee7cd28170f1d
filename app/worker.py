"""`billing worker`: the one long-running background process a deployment needs.

It runs, side by side until SIGTERM, the payment collection, the webhook deliveries and the
card-expiry scan. Each loop checks the stop flag between units of work, so what a loop holds
(an invoice being charged, a batch of deliveries being sent) is finished and committed
before the process exits 0. Several workers may run at once on PostgreSQL: each unit of work
is claimed with `FOR UPDATE SKIP LOCKED`.
"""

import asyncio
import logging
from dataclasses import dataclass

from app.cards.expiry import ExpiryScanner, scan_forever
from app.events.delivery import Deliverer, DeliveryReport, deliver_forever
from app.invoices.collection import Collector, collect_forever

logger = logging.getLogger("billing.worker")


@dataclass(frozen=True)
class Intervals:
    """Seconds each loop waits when it finds nothing to do."""

    collect: float = 60
    deliver: float = 1
    expiry_scan: float = 3600


def _log_deliveries(report: DeliveryReport) -> None:
    if report.attempted:
        logger.info(
            "delivery pass",
            extra={
                "succeeded": report.succeeded,
                "retrying": report.retrying,
                "failed": report.failed,
            },
        )


async def run_worker(
    collector: Collector,
    deliverer: Deliverer,
    scanner: ExpiryScanner,
    stop: asyncio.Event,
    intervals: Intervals,
) -> None:
    """Run the three loops until `stop` is set; a loop that fails stops the others too."""
    logger.info("worker started")
    async with asyncio.TaskGroup() as group:
        group.create_task(collect_forever(collector, intervals.collect, stop))
        group.create_task(deliver_forever(deliverer, stop, intervals.deliver, _log_deliveries))
        group.create_task(scan_forever(scanner, stop, intervals.expiry_scan))
    logger.info("worker stopped")
