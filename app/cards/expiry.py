"""`card.expiring`: announced once per card and expiry, 30 days before its expiry month ends.

The worker's scan claims the cards whose expiry month ends within the notice period and that
were not yet announced for that expiry, marks them, and records the event, all in one
transaction per batch. Claims use `FOR UPDATE SKIP LOCKED`, so concurrent workers never
announce a card twice; a card renewed with a later expiry is announced again when that one
draws near.
"""

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cards import repository
from app.cards.schemas import Card
from app.core.clock import Clock
from app.events import service as events
from app.events.types import EventType
from app.payments.card_expiry import month_index, notice_window

BATCH_SIZE = 100


@dataclass(frozen=True)
class ExpiryScanner:
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock


async def announce_expiring_cards(scanner: ExpiryScanner, stop: asyncio.Event | None = None) -> int:
    """Record `card.expiring` for every card now due its notice; the number announced."""
    announced = 0
    while stop is None or not stop.is_set():
        async with scanner.sessionmaker() as session, session.begin():
            now = scanner.clock.now()
            first_month, before_month = notice_window(now)
            cards = await repository.claim_unannounced_expiring(
                session, first_month=first_month, before_month=before_month, limit=BATCH_SIZE
            )
            for card in cards:
                card.expiry_announced_for = month_index(card.exp_year, card.exp_month)
                await events.record(
                    session, EventType.CARD_EXPIRING, card.account_id, Card.build(card, now), now
                )
            await session.flush()
        announced += len(cards)
        if len(cards) < BATCH_SIZE:
            break
    return announced


async def scan_forever(scanner: ExpiryScanner, stop: asyncio.Event, interval: float) -> None:
    while not stop.is_set():
        await announce_expiring_cards(scanner, stop)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            continue
