"""Stripe's webhooks: real signed events (HMAC-SHA256 with the webhook secret, as Stripe signs
them), delivered twice, out of order, concurrently and with bad signatures. Nothing happens
twice and nothing moves backwards.

The events carry the objects localstripe holds, changed the way Stripe would report them:
localstripe itself can only post webhooks to a URL, and the app here has none."""

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import stripe

from tests.factories import (
    create_billed_invoice,
    create_card,
)
from tests.stripe_server import (
    attached_card,
    customer_of,
    event_body,
    signature_header,
)

ACCOUNT = "acct_stripe_webhooks"
Auth = Callable[..., dict[str, str]]
URL = "/v1/webhooks/stripe"


@pytest.fixture
def user(auth: Auth) -> dict[str, str]:
    return auth(ACCOUNT)


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex[:24]}"


async def post(
    client: httpx.AsyncClient, body: bytes, signature: str | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return await client.post(URL, content=body, headers=headers)


async def deliver(
    client: httpx.AsyncClient, event_type: str, data: dict[str, Any], event_id: str | None = None
) -> str:
    """Post a correctly signed event; its outcome (`processed`, `duplicate`, `ignored`)."""
    body = event_body(event_id or new_event_id(), event_type, data)
    response = await post(client, body, signature_header(body))
    assert response.status_code == 200, response.text
    return str(response.json()["outcome"])


async def cards(client: httpx.AsyncClient, user: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/v1/cards", headers=user)
    assert response.status_code == 200
    return list(response.json()["data"])


async def invoice_of(
    client: httpx.AsyncClient, user: dict[str, str], invoice_id: str
) -> dict[str, Any]:
    response = await client.get(f"/v1/invoices/{invoice_id}", headers=user)
    assert response.status_code == 200
    return dict(response.json())


async def payment_method(
    stripe_api: stripe.StripeClient, ending: str, **card: Any
) -> dict[str, Any]:
    """The account's payment method for the card ending `ending`, as an event would carry it,
    with `card` changes (a new expiry...)."""
    customer = await customer_of(stripe_api, ACCOUNT)
    method = (await attached_card(stripe_api, customer.id, ending)).to_dict()
    method["card"].update(card)
    return method


async def intent_of(
    stripe_api: stripe.StripeClient, invoice_id: str, **changes: Any
) -> dict[str, Any]:
    """The invoice's PaymentIntent at Stripe, as an event would carry it."""
    listed = await stripe_api.v1.payment_intents.list_async({"limit": 100})
    [intent] = [i for i in listed.data if i.metadata.to_dict().get("invoice_id") == invoice_id]
    return {**intent.to_dict(), **changes}


@pytest.mark.stripe_only
class TestSignature:
    @pytest.mark.parametrize(
        "fault", ["missing", "wrong_secret", "stale", "tampered", "malformed_header"]
    )
    async def test_a_bad_signature_is_400_and_changes_nothing(
        self,
        client: httpx.AsyncClient,
        user: dict[str, str],
        stripe_api: stripe.StripeClient,
        fault: str,
    ) -> None:
        await create_card(client, user)
        await create_card(client, user, "5555555555554444")
        body = event_body(
            new_event_id(), "payment_method.detached", await payment_method(stripe_api, "4444")
        )
        signatures: dict[str, str | None] = {
            "missing": None,
            "wrong_secret": signature_header(body, secret="whsec_not_the_right_one"),
            # Beyond the five minutes Stripe's scheme tolerates: a replayed old delivery.
            "stale": signature_header(body, timestamp=int(time.time()) - 600),
            "tampered": signature_header(body.replace(b'"4444"', b'"4445"')),
            "malformed_header": "v1=,t=yesterday",
        }
        response = await post(client, body, signatures[fault])
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "invalid_signature"
        assert len(await cards(client, user)) == 2
        # The event id was not used up: Stripe's retry, correctly signed, is applied.
        response = await post(client, body, signature_header(body))
        assert response.json()["outcome"] == "processed"
        assert len(await cards(client, user)) == 1

    async def test_a_signed_body_that_is_not_an_event_is_422(
        self, client: httpx.AsyncClient
    ) -> None:
        body = b'{"object": "not an event"}'
        response = await post(client, body, signature_header(body))
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"


@pytest.mark.stripe_only
class TestDelivery:
    async def test_other_event_types_are_acknowledged_and_ignored(
        self, client: httpx.AsyncClient
    ) -> None:
        outcome = await deliver(client, "customer.created", {"id": "cus_1", "object": "customer"})
        assert outcome == "ignored"

    async def test_a_redelivered_event_is_applied_once(
        self, client: httpx.AsyncClient, user: dict[str, str], stripe_api: stripe.StripeClient
    ) -> None:
        await create_card(client, user)
        renewed = await payment_method(stripe_api, "4242", exp_month=3, exp_year=2034)
        event_id = new_event_id()
        assert await deliver(client, "payment_method.updated", renewed, event_id) == "processed"
        # The card is renewed again; then the first event arrives a second time.
        again = await payment_method(stripe_api, "4242", exp_month=9, exp_year=2035)
        assert await deliver(client, "payment_method.updated", again) == "processed"
        assert await deliver(client, "payment_method.updated", renewed, event_id) == "duplicate"
        [card] = await cards(client, user)
        assert (card["exp_month"], card["exp_year"]) == (9, 2035)

    async def test_concurrent_redeliveries_are_applied_once(
        self, client: httpx.AsyncClient, user: dict[str, str], stripe_api: stripe.StripeClient
    ) -> None:
        await create_card(client, user)
        await create_card(client, user, "5555555555554444")
        body = event_body(
            new_event_id(), "payment_method.detached", await payment_method(stripe_api, "4444")
        )
        responses = await asyncio.gather(
            *(post(client, body, signature_header(body)) for _ in range(3))
        )
        assert sorted(r.json()["outcome"] for r in responses) == [
            "duplicate",
            "duplicate",
            "processed",
        ]
        assert len(await cards(client, user)) == 1


@pytest.mark.stripe_only
class TestPaymentIntentEvents:
    async def test_a_late_failure_does_not_undo_paid(
        self,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        stripe_api: stripe.StripeClient,
    ) -> None:
        invoice = await create_billed_invoice(client, admin, user, ACCOUNT, "4242424242424242")
        assert invoice["status"] == "paid"
        succeeded = await intent_of(stripe_api, invoice["id"])
        failed = await intent_of(
            stripe_api,
            invoice["id"],
            status="requires_payment_method",
            last_payment_error={"code": "card_declined", "decline_code": "insufficient_funds"},
        )
        # Stripe's events in the wrong order: the failure after the success it preceded.
        assert await deliver(client, "payment_intent.succeeded", succeeded) == "processed"
        assert await deliver(client, "payment_intent.payment_failed", failed) == "processed"
        current = await invoice_of(client, user, invoice["id"])
        assert current["status"] == "paid"
        assert current["paid_at"] == invoice["paid_at"]
        assert current["failure_reason"] is None
        assert current["payment_attempts"] == invoice["payment_attempts"]

    async def test_stripes_word_that_a_payment_succeeded_pays_a_due_invoice(
        self,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        stripe_api: stripe.StripeClient,
    ) -> None:
        # We recorded a failure (say the answer was lost), but Stripe says the money came in.
        invoice = await create_billed_invoice(client, admin, user, ACCOUNT, "4000000000000341")
        assert invoice["status"] == "payment_due"
        failed = await intent_of(
            stripe_api, invoice["id"], last_payment_error={"code": "card_declined"}
        )
        succeeded = await intent_of(stripe_api, invoice["id"], status="succeeded")
        assert await deliver(client, "payment_intent.payment_failed", failed) == "processed"
        assert (await invoice_of(client, user, invoice["id"]))["status"] == "payment_due"
        assert await deliver(client, "payment_intent.succeeded", succeeded) == "processed"
        paid = await invoice_of(client, user, invoice["id"])
        assert paid["status"] == "paid"
        assert paid["next_payment_attempt"] is None
        assert await deliver(client, "payment_intent.payment_failed", failed) == "processed"
        assert (await invoice_of(client, user, invoice["id"]))["status"] == "paid"

    @pytest.mark.parametrize("metadata", [{}, {"invoice_id": "in_unknown"}])
    async def test_payments_that_are_not_our_invoices_are_acknowledged(
        self, client: httpx.AsyncClient, metadata: dict[str, str]
    ) -> None:
        intent = {"id": "pi_elsewhere", "object": "payment_intent", "metadata": metadata}
        assert await deliver(client, "payment_intent.succeeded", intent) == "processed"


@pytest.mark.stripe_only
class TestPaymentMethodEvents:
    async def test_a_detached_card_is_removed(
        self, client: httpx.AsyncClient, user: dict[str, str], stripe_api: stripe.StripeClient
    ) -> None:
        first = await create_card(client, user)
        await create_card(client, user, "5555555555554444")
        detached = await payment_method(stripe_api, "4444")
        assert await deliver(client, "payment_method.detached", detached) == "processed"
        assert [(c["id"], c["is_primary"]) for c in await cards(client, user)] == [
            (first["id"], True)
        ]

    async def test_when_the_primary_is_detached_the_newest_card_becomes_primary(
        self, client: httpx.AsyncClient, user: dict[str, str], stripe_api: stripe.StripeClient
    ) -> None:
        await create_card(client, user)
        older = await create_card(client, user, "5555555555554444")
        newest = await create_card(client, user, "6011111111111117")
        detached = await payment_method(stripe_api, "4242")
        assert await deliver(client, "payment_method.detached", detached) == "processed"
        assert [(c["id"], c["is_primary"]) for c in await cards(client, user)] == [
            (newest["id"], True),
            (older["id"], False),
        ]

    async def test_the_last_card_detached_leaves_none(
        self, client: httpx.AsyncClient, user: dict[str, str], stripe_api: stripe.StripeClient
    ) -> None:
        await create_card(client, user)
        detached = await payment_method(stripe_api, "4242")
        assert await deliver(client, "payment_method.detached", detached) == "processed"
        assert await cards(client, user) == []

    async def test_an_unknown_payment_method_is_acknowledged(
        self, client: httpx.AsyncClient
    ) -> None:
        unknown = {"id": "pm_unknown", "object": "payment_method", "type": "card", "card": None}
        assert await deliver(client, "payment_method.detached", unknown) == "processed"

    @pytest.mark.parametrize(
        "event_type", ["payment_method.updated", "payment_method.automatically_updated"]
    )
    async def test_a_renewed_card_gets_its_new_expiry_and_digits(
        self,
        client: httpx.AsyncClient,
        user: dict[str, str],
        stripe_api: stripe.StripeClient,
        event_type: str,
    ) -> None:
        card = await create_card(client, user, exp_month=12, exp_year=2026)
        renewed = await payment_method(
            stripe_api, "4242", last4="1881", exp_month=12, exp_year=2030
        )
        assert await deliver(client, event_type, renewed) == "processed"
        [current] = await cards(client, user)
        assert current["id"] == card["id"]
        assert (current["last4"], current["exp_month"], current["exp_year"]) == ("1881", 12, 2030)

    async def test_an_older_update_arriving_late_does_not_roll_the_expiry_back(
        self, client: httpx.AsyncClient, user: dict[str, str], stripe_api: stripe.StripeClient
    ) -> None:
        await create_card(client, user, exp_month=12, exp_year=2026)
        first = await payment_method(stripe_api, "4242", exp_month=12, exp_year=2028)
        second = await payment_method(stripe_api, "4242", exp_month=12, exp_year=2031)
        assert await deliver(client, "payment_method.automatically_updated", second) == "processed"
        assert await deliver(client, "payment_method.updated", first) == "processed"
        [current] = await cards(client, user)
        assert (current["exp_month"], current["exp_year"]) == (12, 2031)


@pytest.mark.sandbox_only
class TestSandboxMode:
    async def test_the_webhook_route_is_404(self, client: httpx.AsyncClient) -> None:
        body = event_body(new_event_id(), "payment_intent.succeeded", {"id": "pi_1"})
        response = await post(client, body, signature_header(body))
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
