"""`billing deliver` and `billing worker` as a deployment runs them: real processes."""

import asyncio
import signal
import socket
from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from app.models.event import DeliveryStatus, WebhookDelivery
from tests.events.helpers import create_endpoint, emit
from tests.events.receiver import Receiver
from tests.test_collection import billing


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
    async def test_a_worker_killed_mid_delivery_loses_nothing(
        self, app, client, admin, receiver, settings, clock, real_time
    ):
        await create_endpoint(client, admin, receiver.url)
        [event_id, *others] = await emit(app, clock, count=3)
        receiver.release.clear()  # the endpoint holds the requests: the worker is mid-delivery
        process = billing("worker", settings=settings)
        # The worker sends its batch at once: wait for all three, so that none reaches the
        # endpoint late, after the kill, and takes the 500 scripted for the rerun below.
        assert await asyncio.to_thread(receiver.wait_for, 3), "the batch was not delivered"
        process.kill()
        await asyncio.to_thread(process.wait, timeout=30)
        receiver.release.set()
        assert {(d.status, d.attempt_count) for d in await deliveries(app)} == {
            (DeliveryStatus.PENDING, 0)
        }
        held = receiver.ids()
        assert sorted(held) == sorted([event_id, *others])

        # `billing deliver` sends what is due once, then exits: one endpoint failure included.
        receiver.script.extend([500])
        rerun = billing("deliver", settings=settings)
        out, err = await asyncio.to_thread(rerun.communicate, timeout=60)
        assert rerun.returncode == 0, err
        assert "3 delivery attempt(s): 2 succeeded, 1 to retry, 0 failed" in out
        # At least once: what the killed worker had sent comes again, with the same webhook-id.
        assert sorted(receiver.ids()) == sorted([*held, event_id, *others])
        statuses = sorted((d.status, d.attempt_count) for d in await deliveries(app))
        assert statuses == [(DeliveryStatus.PENDING, 1), *[(DeliveryStatus.SUCCEEDED, 1)] * 2]


class TestWorkerCommand:
    async def test_sigterm_finishes_the_delivery_in_hand_then_exits_0(
        self, app, client, admin, receiver, settings, clock, real_time
    ):
        await create_endpoint(client, admin, receiver.url)
        port = free_port()
        process = billing("worker", "--metrics-port", str(port), settings=settings)
        [first] = await emit(app, clock)
        await arrival(receiver)
        async with httpx.AsyncClient() as http:
            # The worker serves its own series: the first delivery is counted there.
            for _ in range(200):
                metrics = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                if 'billing_webhook_delivery_attempts_total{outcome="succeeded"} 1.0' in metrics:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(metrics)

        receiver.arrived.clear()
        receiver.release.clear()  # the endpoint holds the second delivery
        [second] = await emit(app, clock)
        await arrival(receiver)
        process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        receiver.release.set()
        _out, err = await asyncio.to_thread(process.communicate, timeout=30)
        assert process.returncode == 0, err
        assert {(d.status, d.attempt_count) for d in await deliveries(app)} == {
            (DeliveryStatus.SUCCEEDED, 1)
        }
        assert receiver.ids() == [first, second]


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
