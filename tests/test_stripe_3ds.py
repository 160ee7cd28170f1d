"""3-D Secure in Stripe mode: what only Stripe's side shows (read back from localstripe).

The `setup_intent.succeeded` webhook adds a card the frontend never called back for, once,
even racing the frontend; a payment the cardholder authenticated is found by a repeated
`pay` or a scheduled retry without a second PaymentIntent; the requires_action event never
moves an invoice. tests/test_setup_intents.py and tests/test_authentication_required.py run
the flows themselves in both modes."""

import asyncio
from datetime import datetime
from typing import Any

import httpx
import pytest
import stripe

from app.invoices.collection import collect_due
from tests.test_collection import collector
from tests.three_d_secure import AUTH_ALWAYS, Frontend, deliver_event

pytestmark = pytest.mark.stripe_only

ACCOUNT = "acct_stripe_3ds"


@pytest.fixture
def user(auth: Any) -> dict[str, str]:
    return dict(auth(ACCOUNT))


async def cards(client: httpx.AsyncClient, user: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/v1/cards", headers=user)
    assert response.status_code == 200
    return list(response.json()["data"])


async def succeeded_setup(
    frontend: Frontend, stripe_api: stripe.StripeClient, number: str = "4242424242424242"
) -> stripe.SetupIntent:
    """A setup intent the frontend confirmed at Stripe (challenge passed if asked), as
    Stripe would carry it in `setup_intent.succeeded`; the service was not called back."""
    intent = await frontend.create_setup_intent()
    assert await frontend.confirm_setup(intent, number) is None
    if (await frontend.setup_intent(intent["id"]))["status"] == "requires_action":
        await frontend.authenticate_setup(intent)
    at_stripe = await stripe_api.v1.setup_intents.retrieve_async(intent["id"])
    assert at_stripe.status == "succeeded"
    return at_stripe


async def intents_for(
    stripe_api: stripe.StripeClient, invoice_id: str
) -> list[stripe.PaymentIntent]:
    listed = await stripe_api.v1.payment_intents.list_async({"limit": 100})
    return [i for i in listed.data if i.metadata.to_dict().get("invoice_id") == invoice_id]


async def challenged_invoice(frontend: Frontend, admin: dict[str, str]) -> dict[str, Any]:
    invoice = await frontend.billed_invoice(admin, ACCOUNT, AUTH_ALWAYS)
    assert invoice["failure_reason"] == "authentication_required"
    return invoice


class TestSetupIntentSucceededWebhook:
    @pytest.mark.parametrize("number", ["4242424242424242", AUTH_ALWAYS])
    async def test_the_webhook_adds_the_card_once(
        self,
        client: httpx.AsyncClient,
        user: dict[str, str],
        frontend: Frontend,
        stripe_api: stripe.StripeClient,
        number: str,
    ) -> None:
        intent = await succeeded_setup(frontend, stripe_api, number)
        receipt = await deliver_event(client, "setup_intent.succeeded", intent.to_dict())
        assert receipt["outcome"] == "processed"
        [card] = await cards(client, user)
        assert (card["last4"], card["is_primary"]) == (number[-4:], True)
        # Stripe delivers the same news again (another event), and the frontend calls back.
        again = await deliver_event(client, "setup_intent.succeeded", intent.to_dict())
        assert again["outcome"] == "processed"
        response = await client.post("/v1/cards", headers=user, json={"setup_intent": intent.id})
        assert response.status_code == 200, response.text
        assert response.json() == card
        assert await cards(client, user) == [card]
        # And Stripe holds the card on the account's customer.
        method = await stripe_api.v1.payment_methods.retrieve_async(str(intent.payment_method))
        assert method.customer == intent.customer

    async def test_a_setup_intent_of_a_customer_not_ours_is_acknowledged(
        self, client: httpx.AsyncClient, stripe_api: stripe.StripeClient
    ) -> None:
        stranger = await stripe_api.v1.customers.create_async({})
        intent = await stripe_api.v1.setup_intents.create_async({"customer": stranger.id})
        method = await stripe_api.v1.payment_methods.create_async(
            {
                "type": "card",
                "card": {
                    "number": "4242424242424242",
                    "exp_month": 1,
                    "exp_year": 2031,
                    "cvc": "123",
                },
            }
        )
        confirmed = await stripe_api.v1.setup_intents.confirm_async(
            intent.id, {"payment_method": method.id}
        )
        receipt = await deliver_event(client, "setup_intent.succeeded", confirmed.to_dict())
        assert receipt["outcome"] == "processed"
        method = await stripe_api.v1.payment_methods.retrieve_async(method.id)
        assert method.customer is None

    @pytest.mark.postgres_only
    async def test_racing_the_frontend_adds_the_card_once(
        self,
        client: httpx.AsyncClient,
        user: dict[str, str],
        frontend: Frontend,
        stripe_api: stripe.StripeClient,
    ) -> None:
        for number in ("4242424242424242", "5555555555554444", AUTH_ALWAYS):
            intent = await succeeded_setup(frontend, stripe_api, number)
            results = await asyncio.gather(
                client.post("/v1/cards", headers=user, json={"setup_intent": intent.id}),
                deliver_event(client, "setup_intent.succeeded", intent.to_dict()),
                client.post("/v1/cards", headers=user, json={"setup_intent": intent.id}),
                deliver_event(client, "setup_intent.succeeded", intent.to_dict()),
            )
            first, _, second, _ = results
            assert isinstance(first, httpx.Response)
            assert isinstance(second, httpx.Response)
            assert {first.status_code, second.status_code} <= {200, 201}
            assert first.json()["id"] == second.json()["id"]
        listed = await cards(client, user)
        assert sorted(c["last4"] for c in listed) == ["3184", "4242", "4444"]
        assert [c["is_primary"] for c in listed].count(True) == 1


class TestAuthenticatedPayment:
    async def test_a_repeated_pay_finds_the_payment_succeeded_and_charges_nothing_more(
        self,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        frontend: Frontend,
        stripe_api: stripe.StripeClient,
    ) -> None:
        invoice = await challenged_invoice(frontend, admin)
        challenge = await frontend.authenticate_payment(invoice["next_action"])
        assert challenge.status_code == 200, challenge.text
        # No webhook (yet): the frontend calls pay again after the challenge.
        response = await client.post(f"/v1/invoices/{invoice['id']}/pay", headers=user)
        assert response.status_code == 200, response.text
        paid = response.json()
        assert (paid["status"], paid["next_action"]) == ("paid", None)
        assert [(a["outcome"], a["decline_code"]) for a in paid["payment_attempts"]] == [
            ("succeeded", None)
        ]
        [intent] = await intents_for(stripe_api, invoice["id"])
        assert (intent.id, intent.status) == (invoice["next_action"]["payment_intent"], "succeeded")
        # Stripe's webhook arrives afterwards: nothing changes.
        receipt = await deliver_event(client, "payment_intent.succeeded", intent.to_dict())
        assert receipt["outcome"] == "processed"
        after = (await client.get(f"/v1/invoices/{invoice['id']}", headers=user)).json()
        assert after == paid

    async def test_a_scheduled_retry_finds_the_payment_succeeded(
        self,
        app: Any,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        frontend: Frontend,
        stripe_api: stripe.StripeClient,
        clock: Any,
    ) -> None:
        invoice = await challenged_invoice(frontend, admin)
        assert (await frontend.authenticate_payment(invoice["next_action"])).status_code == 200
        clock.set(datetime.fromisoformat(invoice["next_payment_attempt"].replace("Z", "+00:00")))
        report = await collect_due(collector(app))
        assert (report.charged, report.paid) == (1, 1)
        paid = (await client.get(f"/v1/invoices/{invoice['id']}", headers=user)).json()
        assert paid["status"] == "paid"
        assert paid["attempt_count"] == 1
        assert len(await intents_for(stripe_api, invoice["id"])) == 1

    async def test_the_requires_action_event_never_moves_an_invoice(
        self,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        frontend: Frontend,
        stripe_api: stripe.StripeClient,
    ) -> None:
        invoice = await challenged_invoice(frontend, admin)
        [waiting] = await intents_for(stripe_api, invoice["id"])
        assert waiting.status == "requires_action"
        receipt = await deliver_event(client, "payment_intent.requires_action", waiting.to_dict())
        assert receipt["outcome"] == "processed"
        assert (await client.get(f"/v1/invoices/{invoice['id']}", headers=user)).json() == invoice
        assert (await frontend.authenticate_payment(invoice["next_action"])).status_code == 200
        await frontend.report_payment(waiting.id)
        # Stripe's events out of order: the older requires_action after the success.
        assert (await deliver_event(client, "payment_intent.requires_action", waiting.to_dict()))[
            "outcome"
        ] == "processed"
        current = (await client.get(f"/v1/invoices/{invoice['id']}", headers=user)).json()
        assert (current["status"], current["next_action"]) == ("paid", None)
