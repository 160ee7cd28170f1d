"""Business log lines are facts: written once their transaction commits, never otherwise."""

import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.core.observability import log_event


def written(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "billing.events"]


@pytest.fixture
def events(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="billing.events")
    return caplog


@pytest.fixture
async def sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine("sqlite+aiosqlite://")
    yield async_sessionmaker(engine)
    await engine.dispose()


async def test_an_event_is_written_when_its_transaction_commits(sessions, events):
    async with sessions() as session:
        await session.execute(text("SELECT 1"))
        log_event(session, "invoice.finalized", invoice_id="in_1")
        assert written(events) == []
        await session.commit()
    assert written(events) == ["invoice.finalized"]


async def test_an_event_of_a_rolled_back_transaction_is_never_written(sessions, events):
    async with sessions() as session:
        await session.execute(text("SELECT 1"))
        log_event(session, "invoice.finalized", invoice_id="in_1")
        await session.rollback()
        await session.execute(text("SELECT 1"))
        await session.commit()
    assert written(events) == []


async def _fail_in_savepoint(session: AsyncSession) -> None:
    async with session.begin_nested():
        log_event(session, "invoice.paid")
        raise RuntimeError("the provider could not answer")


async def test_a_rolled_back_savepoint_drops_only_its_own_events(sessions, events):
    async with sessions() as session:
        await session.execute(text("SELECT 1"))
        log_event(session, "card.primary_switched")
        with pytest.raises(RuntimeError):
            await _fail_in_savepoint(session)
        async with session.begin_nested():
            log_event(session, "invoice.payment_failed")
        log_event(session, "invoice.retry_postponed")
        await session.commit()
    assert written(events) == [
        "card.primary_switched",
        "invoice.payment_failed",
        "invoice.retry_postponed",
    ]
