"""The delivery worker behind `billing deliver` and `billing worker`.

A batch of due deliveries is claimed with `FOR UPDATE SKIP LOCKED`, sent concurrently, and
each outcome recorded. On PostgreSQL the claim's transaction stays open while the batch is
sent (at most the send timeout): the row locks are the claim, so workers never send the same
delivery twice at once, and a worker killed mid-send loses nothing: its connection closes,
its locks go, nothing was recorded, and the deliveries are due again for the next worker.
SQLite has no row locks and one writer at a time, so there (one worker only) the batch is
read and recorded in two short transactions around the sends, and the write lock is never
held while waiting on the network; a crash between the two likewise records nothing.
Delivery is at least once: an endpoint that answered just before a crash hears it again.
"""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidTag
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import Clock
from app.events import repository, service
from app.events.metrics import count_attempt
from app.events.schemas import Event as EventSchema
from app.events.secrets import SecretBox
from app.events.sender import SendResult, WebhookSender
from app.models.event import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint

BATCH_SIZE = 25

Claimed = tuple[WebhookDelivery, Event, WebhookEndpoint]


@dataclass
class DeliveryReport:
    succeeded: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.succeeded + self.retrying + self.failed


@dataclass(frozen=True)
class Deliverer:
    """What delivering needs: the database, the clock, the HTTP client, the secrets' key."""

    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    sender: WebhookSender
    secrets: SecretBox


def event_body(event: Event) -> bytes:
    """The bytes POSTed and signed: the event as the admin API shows it."""
    return EventSchema.model_validate(event).model_dump_json().encode()


async def _send(deliverer: Deliverer, claimed: Sequence[Claimed]) -> list[SendResult]:
    async def one(event: Event, endpoint: WebhookEndpoint) -> SendResult:
        try:
            secret = deliverer.secrets.open(endpoint.id, endpoint.encrypted_secret)
        except InvalidTag:
            return SendResult(None, "the signing secret cannot be decrypted with the server key")
        return await deliverer.sender.send(endpoint.url, secret, event.id, event_body(event))

    return list(await asyncio.gather(*(one(event, endpoint) for _, event, endpoint in claimed)))


async def _record(
    session: AsyncSession,
    claimed: Sequence[Claimed],
    results: Sequence[SendResult],
    attempted_at: datetime,
    report: DeliveryReport,
) -> None:
    deliveries = [delivery for delivery, _, _ in claimed]
    await service.record_attempts(
        session, list(zip(deliveries, results, strict=True)), attempted_at
    )
    for delivery in deliveries:
        if delivery.status is DeliveryStatus.SUCCEEDED:
            report.succeeded += 1
            count_attempt("succeeded")
        elif delivery.status is DeliveryStatus.FAILED:
            report.failed += 1
            count_attempt("failed")
        else:
            report.retrying += 1
            count_attempt("retrying")


async def _deliver_batch(deliverer: Deliverer, due_at: datetime, report: DeliveryReport) -> bool:
    """Claim, send and record one batch; False when nothing was due."""
    async with deliverer.sessionmaker() as session:
        holds_row_locks = session.get_bind().dialect.name == "postgresql"
        async with session.begin():
            claimed = await repository.claim_due(session, due_at, BATCH_SIZE)
            if not claimed:
                return False
            if holds_row_locks:
                attempted_at = deliverer.clock.now()
                results = await _send(deliverer, claimed)
                await _record(session, claimed, results, attempted_at, report)
                return True
        attempted_at = deliverer.clock.now()
        results = await _send(deliverer, claimed)
        async with session.begin():
            await _record(session, claimed, results, attempted_at, report)
        return True


async def deliver_due(deliverer: Deliverer, stop: asyncio.Event | None = None) -> DeliveryReport:
    """Send every delivery due now, batch by batch, until none is left or `stop` is set.

    "Due" is fixed when the run starts: a retry scheduled by this run waits for the next.
    """
    report = DeliveryReport()
    due_at = deliverer.clock.now()
    while stop is None or not stop.is_set():
        if not await _deliver_batch(deliverer, due_at, report):
            break
    return report


async def deliver_forever(
    deliverer: Deliverer,
    stop: asyncio.Event,
    interval: float,
    on_pass: Callable[[DeliveryReport], None] | None = None,
) -> None:
    """Deliver until `stop` is set, polling every `interval` seconds while the queue is idle."""
    while not stop.is_set():
        report = await deliver_due(deliverer, stop)
        if on_pass is not None:
            on_pass(report)
        if report.attempted:
            continue
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            continue
