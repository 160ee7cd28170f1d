"""Delivery of events per Standard Webhooks, to a real HTTP endpoint on a loopback port."""

import json
from datetime import timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from app.events.delivery import deliver_due
from tests.events.helpers import create_endpoint, emit
from tests.factories import parse_time


async def event_detail(client: Any, admin: dict[str, str], event_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/admin/events/{event_id}", headers=admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


class TestSignedDelivery:
    async def test_the_platform_verifies_the_event_with_standardwebhooks(
        self, app, client, admin, receiver, deliverer, clock
    ):
        endpoint = await create_endpoint(client, admin, receiver.url)
        [event_id] = await emit(app, clock)

        report = await deliver_due(deliverer)

        assert (report.succeeded, report.attempted) == (1, 1)
        [request] = receiver.received
        assert request.path == "/hooks/billing"
        payload = Webhook(endpoint["secret"]).verify(request.body, request.headers)
        detail = await event_detail(client, admin, event_id)
        assert payload == {key: detail[key] for key in payload}
        assert set(payload) == {"id", "type", "created_at", "account_id", "data"}
        assert payload["data"]["object"]["id"] == "card_0"
        assert request.headers["webhook-id"] == event_id
        assert request.headers["content-type"] == "application/json"
        [delivery] = detail["deliveries"]
        assert delivery["outcome"] == "succeeded"
        assert (delivery["status_code"], delivery["next_attempt"]) == (200, None)
        assert delivery["url"] == receiver.url
        assert [a["outcome"] for a in delivery["attempts"]] == ["succeeded"]

    async def test_another_secret_does_not_verify(
        self, app, client, admin, receiver, deliverer, clock
    ):
        await create_endpoint(client, admin, receiver.url)
        other = await create_endpoint(client, admin, receiver.url + "/other")
        await client.delete(f"/v1/admin/webhook-endpoints/{other['id']}", headers=admin)
        await emit(app, clock)
        await deliver_due(deliverer)
        [request] = receiver.received
        with pytest.raises(Exception, match="signature"):
            Webhook(other["secret"]).verify(request.body, request.headers)

    async def test_only_subscribers_of_the_type_receive_it(
        self, app, client, admin, receiver, deliverer, clock
    ):
        await create_endpoint(client, admin, receiver.url + "/all")
        await create_endpoint(client, admin, receiver.url + "/cards", ["card.added"])
        await create_endpoint(client, admin, receiver.url + "/invoices", ["invoice.paid"])
        await emit(app, clock)
        await deliver_due(deliverer)
        paths = sorted(request.path for request in receiver.received)
        assert paths == ["/hooks/billing/all", "/hooks/billing/cards"]

    async def test_nothing_but_the_event_is_sent_and_cookies_are_not_kept(
        self, app, client, admin, receiver, deliverer, clock
    ):
        await create_endpoint(client, admin, receiver.url)
        await emit(app, clock, count=2)
        await deliver_due(deliverer)
        assert len(receiver.received) == 2
        for request in receiver.received:
            assert "cookie" not in request.headers
            assert "authorization" not in request.headers
            assert json.loads(request.body)["type"] == "card.added"


class TestRetries:
    async def test_retried_on_the_backoff_schedule_then_failed_then_redelivered(
        self, app, client, admin, receiver, deliverer, clock
    ):
        receiver.status = 500
        await create_endpoint(client, admin, receiver.url)
        [event_id] = await emit(app, clock)

        expected = [
            timedelta(seconds=5),
            timedelta(minutes=5),
            timedelta(minutes=30),
            timedelta(hours=2),
            timedelta(hours=5),
            timedelta(hours=10),
            timedelta(hours=10),
        ]
        for attempt, gap in enumerate(expected, start=1):
            report = await deliver_due(deliverer)
            assert report.retrying == 1
            [delivery] = (await event_detail(client, admin, event_id))["deliveries"]
            assert (delivery["outcome"], delivery["attempt_count"]) == ("pending", attempt)
            assert (delivery["status_code"], delivery["attempts"][-1]["error"]) == (500, "HTTP 500")
            assert (
                parse_time(delivery["next_attempt"]) - parse_time(delivery["attempted_at"]) == gap
            )
            clock.advance(gap - timedelta(seconds=2))
            assert (await deliver_due(deliverer)).attempted == 0  # not due yet
            clock.set(parse_time(delivery["next_attempt"]))

        assert (await deliver_due(deliverer)).failed == 1
        [delivery] = (await event_detail(client, admin, event_id))["deliveries"]
        assert (delivery["outcome"], delivery["attempt_count"]) == ("failed", 8)
        assert delivery["next_attempt"] is None
        clock.advance(timedelta(days=3))
        assert (await deliver_due(deliverer)).attempted == 0
        assert len(receiver.received) == 8

        receiver.status = 204
        response = await client.post(f"/v1/admin/events/{event_id}/redeliver", headers=admin)
        assert response.status_code == 202
        assert [d["outcome"] for d in response.json()["deliveries"]] == ["failed", "pending"]
        assert (await deliver_due(deliverer)).succeeded == 1
        deliveries = (await event_detail(client, admin, event_id))["deliveries"]
        assert [d["outcome"] for d in deliveries] == ["failed", "succeeded"]
        assert len({r.headers["webhook-id"] for r in receiver.received}) == 1

    async def test_refused_timeout_and_redirect_are_failures_to_retry(
        self, app, client, admin, receiver, deliverer, clock
    ):
        await create_endpoint(client, admin, "http://127.0.0.1:9/refused")
        await create_endpoint(client, admin, receiver.url + "/slow")
        [event_id] = await emit(app, clock)
        receiver.release.clear()  # the endpoint takes longer than the 0.5 s timeout
        report = await deliver_due(deliverer)
        receiver.release.set()
        assert report.retrying == 2
        errors = {
            d["url"]: (d["status_code"], d["attempts"][-1]["error"])
            for d in (await event_detail(client, admin, event_id))["deliveries"]
        }
        assert errors == {
            "http://127.0.0.1:9/refused": (None, "connection refused"),
            receiver.url + "/slow": (None, "timeout"),
        }

    async def test_redirects_are_not_followed(self, app, client, admin, receiver, deliverer, clock):
        receiver.script.extend([302])
        receiver.location = receiver.url + "/elsewhere"
        await create_endpoint(client, admin, receiver.url)
        [event_id] = await emit(app, clock)
        assert (await deliver_due(deliverer)).retrying == 1
        assert [r.path for r in receiver.received] == ["/hooks/billing"]
        [delivery] = (await event_detail(client, admin, event_id))["deliveries"]
        assert delivery["status_code"] == 302

    async def test_attempt_outcomes_are_counted_in_metrics(
        self, app, client, admin, receiver, deliverer, clock
    ):
        def counted(text: str, outcome: str) -> float:
            prefix = f'billing_webhook_delivery_attempts_total{{outcome="{outcome}"}} '
            lines = [line for line in text.splitlines() if line.startswith(prefix)]
            return float(lines[0].removeprefix(prefix)) if lines else 0.0

        before = (await client.get("/metrics")).text
        receiver.script.extend([503])
        await create_endpoint(client, admin, receiver.url)
        await emit(app, clock, count=2)
        await deliver_due(deliverer)
        after = (await client.get("/metrics")).text
        assert counted(after, "succeeded") - counted(before, "succeeded") == 1
        assert counted(after, "retrying") - counted(before, "retrying") == 1


def gauge(text: str, name: str) -> float:
    [line] = [line for line in text.splitlines() if line.startswith(name + " ")]
    return float(line.split()[1])


class TestQueueMetrics:
    async def test_pending_deliveries_and_the_oldest_ones_age(
        self, app, client, admin, receiver, deliverer, clock
    ):
        await create_endpoint(client, admin, receiver.url)
        await emit(app, clock, count=2)
        clock.advance(timedelta(minutes=10))
        text = (await client.get("/metrics")).text
        assert gauge(text, "billing_webhook_deliveries_pending") == 2
        age = gauge(text, "billing_webhook_oldest_pending_delivery_age_seconds")
        assert 600 <= age < 700
        await deliver_due(deliverer)
        text = (await client.get("/metrics")).text
        assert gauge(text, "billing_webhook_deliveries_pending") == 0
        assert gauge(text, "billing_webhook_oldest_pending_delivery_age_seconds") == 0
