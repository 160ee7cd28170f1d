"""`billing deliver` and `billing worker` as a deployment runs them: real processes."""

import asyncio
import signal
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.models.event import DeliveryStatus, WebhookDelivery
from tests.events.helpers import create_endpoint, emit
from tests.events.receiver import Receiver
from tests.test_collection import billing


async def arrival(receiver: Receiver) -> None:
    assert await asyncio.to_thread(receiver.arrived.wait, 30), "nothing was delivered"


async def deliveries(app) -> list[WebhookDelivery]:  # type: ignore[no-untyped-def]
    async with app.state.runtime.sessionmaker() as session:
        return list((await session.execute(select(WebhookDelivery))).scalars())


@pytest.fixture
def real_time(clock) -> None:  # type: ignore[no-untyped-def]
    # The processes read the wall clock: events made "now" are due for them.
    clock.set(datetime.now(UTC).replace(microsecond=0))


class TestDeliverCommand:
    async def test_sends_what_is_due_then_exits(
        self, app, client, admin, receiver, settings, clock, real_time
    ):
        await create_endpoint(client, admin, receiver.url)
        ids = await emit(app, clock, count=3)
        receiver.script.extend([500])
        process = billing("deliver", settings=settings)
        out, err = await asyncio.to_thread(process.communicate, timeout=60)
        assert process.returncode == 0, err
        assert "3 delivery attempt(s): 2 succeeded, 1 to retry, 0 failed" in out
        assert sorted(receiver.ids()) == sorted(ids)

    async def test_a_worker_killed_mid_delivery_loses_nothing(
        self, app, client, admin, receiver, settings, clock, real_time
    ):
        await create_endpoint(client, admin, receiver.url)
        [event_id] = await emit(app, clock)
        receiver.release.clear()  # the endpoint holds the request: the worker is mid-delivery
        process = billing("worker", settings=settings)
        await arrival(receiver)
        process.kill()
        await asyncio.to_thread(process.wait, timeout=30)
        receiver.release.set()
        [delivery] = await deliveries(app)
        assert (delivery.status, delivery.attempt_count) == (DeliveryStatus.PENDING, 0)

        rerun = billing("deliver", settings=settings)
        _out, err = await asyncio.to_thread(rerun.communicate, timeout=60)
        assert rerun.returncode == 0, err
        assert receiver.ids() == [event_id, event_id]  # at least once, same webhook-id
        [delivery] = await deliveries(app)
        assert (delivery.status, delivery.attempt_count) == (DeliveryStatus.SUCCEEDED, 1)


class TestWorkerCommand:
    async def test_sigterm_finishes_the_delivery_in_hand_then_exits_0(
        self, app, client, admin, receiver, settings, clock, real_time
    ):
        await create_endpoint(client, admin, receiver.url)
        [event_id] = await emit(app, clock)
        receiver.release.clear()
        process = billing("worker", settings=settings)
        await arrival(receiver)
        process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        receiver.release.set()
        _out, err = await asyncio.to_thread(process.communicate, timeout=30)
        assert process.returncode == 0, err
        [delivery] = await deliveries(app)
        assert (delivery.status, delivery.attempt_count) == (DeliveryStatus.SUCCEEDED, 1)
        assert receiver.ids() == [event_id]


@pytest.mark.postgres_only
class TestConcurrentDeliverers:
    async def test_four_workers_deliver_each_of_500_events_exactly_once(
        self, app, client, admin, receiver, settings, clock, real_time
    ):
        await create_endpoint(client, admin, receiver.url)
        ids = await emit(app, clock, count=500)
        workers = [billing("deliver", settings=settings) for _ in range(4)]
        outputs = [await asyncio.to_thread(w.communicate, timeout=120) for w in workers]
        assert [w.returncode for w in workers] == [0] * 4, outputs
        attempted = [int(out.split(" delivery attempt(s)")[0].split()[-1]) for out, _ in outputs]
        assert sum(attempted) == 500
        received = Counter(receiver.ids())
        assert set(received) == set(ids)
        assert set(received.values()) == {1}
        assert {d.status for d in await deliveries(app)} == {DeliveryStatus.SUCCEEDED}
