"""Saving cards through setup intents (3-D Secure at setup), in both modes.

Sandbox: the service's /v1/sandbox routes play Stripe.js and the bank. Stripe: a real
SetupIntent at localstripe, confirmed with localstripe's own endpoint."""

from typing import Any

import httpx
import pytest
import stripe

from tests.factories import create_billed_invoice, create_card
from tests.three_d_secure import AUTH_ALWAYS, AUTH_ON_SETUP, Frontend

ACCOUNT = "acct_setup_intents"
OTHER = "acct_setup_intents_other"


@pytest.fixture
def user(auth: Any) -> dict[str, str]:
    return dict(auth(ACCOUNT))


async def add_from_intent(
    client: httpx.AsyncClient, headers: dict[str, str], intent_id: str
) -> httpx.Response:
    return await client.post("/v1/cards", headers=headers, json={"setup_intent": intent_id})


async def list_cards(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/v1/cards", headers=headers)
    assert response.status_code == 200
    return list(response.json()["data"])


class TestCreate:
    async def test_a_new_intent_awaits_a_payment_method(
        self, client: httpx.AsyncClient, user: dict[str, str], frontend: Frontend
    ) -> None:
        intent = await frontend.create_setup_intent()
        assert intent["id"].startswith("seti_")
        assert intent["client_secret"].startswith(intent["id"])
        assert (intent["status"], intent["last_error"]) == ("requires_payment_method", None)
        assert set(intent) == {"id", "client_secret", "status", "last_error"}
        assert await frontend.setup_intent(intent["id"]) == intent

    @pytest.mark.stripe_only
    async def test_stripe_holds_an_off_session_setup_intent_on_the_accounts_customer(
        self, frontend: Frontend, stripe_api: stripe.StripeClient
    ) -> None:
        intent = await frontend.create_setup_intent()
        at_stripe = await stripe_api.v1.setup_intents.retrieve_async(intent["id"])
        assert at_stripe.usage == "off_session"
        customers = await stripe_api.v1.customers.list_async({"limit": 100})
        [customer] = [c for c in customers.data if c.metadata.to_dict() == {"account_id": ACCOUNT}]
        assert at_stripe.customer == customer.id


class TestSaveACard:
    async def test_a_card_without_authentication_is_added_once(
        self, client: httpx.AsyncClient, user: dict[str, str], auth: Any, frontend: Frontend
    ) -> None:
        intent = await frontend.create_setup_intent()
        assert await frontend.confirm_setup(intent, "4242424242424242", exp_year=2031) is None
        assert (await frontend.setup_intent(intent["id"]))["status"] == "succeeded"
        response = await add_from_intent(client, user, intent["id"])
        assert response.status_code == 201, response.text
        card = response.json()
        assert (card["last4"], card["exp_year"], card["is_primary"]) == ("4242", 2031, True)
        # The frontend calling back twice (a retry, a double click) gets the same card.
        again = await add_from_intent(client, user, intent["id"])
        assert again.status_code == 200, again.text
        assert again.json() == card
        assert [c["id"] for c in await list_cards(client, user)] == [card["id"]]
        # The platform hears of the card once.
        events = await client.get(
            "/v1/admin/events",
            headers=auth(admin=True),
            params={"type": "card.added", "account_id": ACCOUNT},
        )
        assert events.status_code == 200, events.text
        assert [e["data"]["object"]["id"] for e in events.json()["data"]] == [card["id"]]

    @pytest.mark.parametrize("number", [AUTH_ON_SETUP, AUTH_ALWAYS])
    async def test_a_card_that_asks_for_authentication_waits_for_the_challenge(
        self, client: httpx.AsyncClient, user: dict[str, str], frontend: Frontend, number: str
    ) -> None:
        intent = await frontend.create_setup_intent()
        assert await frontend.confirm_setup(intent, number) is None
        assert (await frontend.setup_intent(intent["id"]))["status"] == "requires_action"
        early = await add_from_intent(client, user, intent["id"])
        assert early.status_code == 409
        assert early.headers["content-type"] == "application/problem+json"
        assert early.json()["code"] == "setup_intent_incomplete"
        assert await list_cards(client, user) == []
        await frontend.authenticate_setup(intent)
        assert (await frontend.setup_intent(intent["id"]))["status"] == "succeeded"
        response = await add_from_intent(client, user, intent["id"])
        assert response.status_code == 201, response.text
        assert response.json()["last4"] == number[-4:]

    async def test_an_intent_never_confirmed_is_incomplete(
        self, client: httpx.AsyncClient, user: dict[str, str], frontend: Frontend
    ) -> None:
        intent = await frontend.create_setup_intent()
        response = await add_from_intent(client, user, intent["id"])
        assert response.status_code == 409
        assert response.json()["code"] == "setup_intent_incomplete"

    async def test_a_declined_card_is_refused_at_confirmation_and_adds_nothing(
        self, client: httpx.AsyncClient, user: dict[str, str], frontend: Frontend
    ) -> None:
        intent = await frontend.create_setup_intent()
        assert await frontend.confirm_setup(intent, "4000000000000002") == "card_declined"
        response = await add_from_intent(client, user, intent["id"])
        assert response.status_code == 409
        assert response.json()["code"] == "setup_intent_incomplete"
        assert await list_cards(client, user) == []

    async def test_the_second_card_is_not_primary_and_a_duplicate_is_refused(
        self, client: httpx.AsyncClient, user: dict[str, str], frontend: Frontend
    ) -> None:
        first = await create_card(client, user)
        second = await frontend.add_card(AUTH_ALWAYS)
        assert (first["is_primary"], second["is_primary"]) == (True, False)
        intent = await frontend.create_setup_intent()
        assert await frontend.confirm_setup(intent, "4242424242424242") is None
        duplicate = await add_from_intent(client, user, intent["id"])
        assert duplicate.status_code == 409
        assert duplicate.json()["code"] == "card_already_added"
        assert len(await list_cards(client, user)) == 2

    async def test_the_first_card_pays_what_is_due(
        self, client: httpx.AsyncClient, user: dict[str, str], auth: Any, frontend: Frontend
    ) -> None:
        due = await create_billed_invoice(client, auth(admin=True), user, ACCOUNT, None)
        assert due["status"] == "payment_due"
        card = await frontend.add_card("5555555555554444")
        assert card["is_primary"] is True
        invoice = (await client.get(f"/v1/invoices/{due['id']}", headers=user)).json()
        assert invoice["status"] == "paid"
        assert invoice["payment_attempts"][-1]["card_last4"] == "4444"


class TestIsolation:
    async def test_another_accounts_intent_is_not_found(
        self, client: httpx.AsyncClient, user: dict[str, str], auth: Any, frontend: Frontend
    ) -> None:
        intent = await frontend.create_setup_intent()
        assert await frontend.confirm_setup(intent, "4242424242424242") is None
        other = auth(OTHER)
        # The other account has a customer of its own, and one without is just as blind.
        await create_card(client, auth("acct_setup_intents_third"))
        for headers in (other, auth("acct_setup_intents_third")):
            response = await client.get(f"/v1/cards/setup-intents/{intent['id']}", headers=headers)
            assert response.status_code == 404
            assert response.json()["code"] == "setup_intent_not_found"
            response = await add_from_intent(client, headers, intent["id"])
            assert response.status_code == 404
            assert response.json()["code"] == "setup_intent_not_found"
        assert await list_cards(client, other) == []
        # Still the owner's to use.
        assert (await add_from_intent(client, user, intent["id"])).status_code == 201

    @pytest.mark.parametrize("intent_id", ["seti_doesnotexist123", "seti_x"])
    async def test_an_unknown_intent_is_not_found(
        self, client: httpx.AsyncClient, user: dict[str, str], frontend: Frontend, intent_id: str
    ) -> None:
        await frontend.create_setup_intent()
        response = await client.get(f"/v1/cards/setup-intents/{intent_id}", headers=user)
        assert response.status_code == 404
        assert response.json()["code"] == "setup_intent_not_found"
        response = await add_from_intent(client, user, intent_id)
        assert response.status_code == 404
        assert response.json()["code"] == "setup_intent_not_found"


class TestBody:
    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"payment_method": "pm_card_visa", "setup_intent": "seti_123"},
            {"setup_intent": "pm_card_visa"},
            {"setup_intent": ""},
            {"setup_intent": 12},
            {"setup_intent": None},
        ],
    )
    async def test_exactly_one_of_payment_method_or_setup_intent(
        self, client: httpx.AsyncClient, user: dict[str, str], body: dict[str, Any]
    ) -> None:
        response = await client.post("/v1/cards", headers=user, json=body)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
        assert await list_cards(client, user) == []

    async def test_a_card_that_needs_no_authentication_is_still_added_from_a_payment_method(
        self, client: httpx.AsyncClient, user: dict[str, str]
    ) -> None:
        card = await create_card(client, user)
        assert card["is_primary"] is True


@pytest.mark.sandbox_only
class TestSandboxBank:
    """What only the sandbox can play: a failed challenge, a decline's trace on the intent."""

    async def test_a_failed_challenge_returns_the_intent_for_another_card(
        self, client: httpx.AsyncClient, user: dict[str, str], frontend: Frontend
    ) -> None:
        intent = await frontend.create_setup_intent()
        assert await frontend.confirm_setup(intent, AUTH_ALWAYS) is None
        await frontend.authenticate_setup(intent, success=False)
        failed = await frontend.setup_intent(intent["id"])
        assert (failed["status"], failed["last_error"]) == (
            "requires_payment_method",
            "authentication_failed",
        )
        response = await add_from_intent(client, user, intent["id"])
        assert response.json()["code"] == "setup_intent_incomplete"
        # As on Stripe, the same intent can be confirmed again, with another card.
        assert await frontend.confirm_setup(intent, "5555555555554444") is None
        done = await frontend.setup_intent(intent["id"])
        assert (done["status"], done["last_error"]) == ("succeeded", None)
        added = await add_from_intent(client, user, intent["id"])
        assert added.status_code == 201
        assert added.json()["last4"] == "4444"

    async def test_a_decline_is_the_intents_last_error(
        self, client: httpx.AsyncClient, user: dict[str, str], frontend: Frontend
    ) -> None:
        intent = await frontend.create_setup_intent()
        response = await client.post(
            f"/v1/sandbox/setup-intents/{intent['id']}/confirm",
            headers=user,
            json={"number": "4000000000000127", "exp_month": 1, "exp_year": 2031, "cvc": "999"},
        )
        assert response.status_code == 402
        assert response.json()["code"] == "incorrect_cvc"
        declined = await frontend.setup_intent(intent["id"])
        assert (declined["status"], declined["last_error"]) == (
            "requires_payment_method",
            "incorrect_cvc",
        )

    @pytest.mark.parametrize(
        ("named", "status"),
        [
            ("pm_card_visa", "succeeded"),
            ("pm_card_authenticationRequiredOnSetup", "requires_action"),
            ("pm_card_authenticationRequired", "requires_action"),
        ],
    )
    async def test_named_test_tokens_confirm_too(
        self,
        client: httpx.AsyncClient,
        user: dict[str, str],
        frontend: Frontend,
        named: str,
        status: str,
    ) -> None:
        intent = await frontend.create_setup_intent()
        response = await client.post(
            f"/v1/sandbox/setup-intents/{intent['id']}/confirm",
            headers=user,
            json={"payment_method": named},
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status

    async def test_steps_out_of_order_are_409_and_bad_cards_422(
        self, client: httpx.AsyncClient, user: dict[str, str], frontend: Frontend
    ) -> None:
        intent = await frontend.create_setup_intent()
        base = f"/v1/sandbox/setup-intents/{intent['id']}"
        early = await client.post(f"{base}/authenticate", headers=user, json={"success": True})
        assert early.status_code == 409
        assert early.json()["code"] == "setup_intent_unexpected_state"
        bad = await client.post(
            f"{base}/confirm",
            headers=user,
            json={"number": "4242424242424241", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "number"
        both = await client.post(
            f"{base}/confirm",
            headers=user,
            json={"payment_method": "pm_card_visa", "number": "4242424242424242"},
        )
        assert both.status_code == 422
        assert await frontend.confirm_setup(intent, "4242424242424242") is None
        again = await client.post(
            f"{base}/confirm", headers=user, json={"payment_method": "pm_card_visa"}
        )
        assert again.status_code == 409
        assert again.json()["code"] == "setup_intent_unexpected_state"

    async def test_another_accounts_intent_cannot_be_confirmed(
        self, client: httpx.AsyncClient, auth: Any, frontend: Frontend
    ) -> None:
        intent = await frontend.create_setup_intent()
        other = auth(OTHER)
        for step, body in (
            ("confirm", {"payment_method": "pm_card_visa"}),
            ("authenticate", {"success": True}),
        ):
            response = await client.post(
                f"/v1/sandbox/setup-intents/{intent['id']}/{step}", headers=other, json=body
            )
            assert response.status_code == 404
            assert response.json()["code"] == "setup_intent_not_found"
        assert (await frontend.setup_intent(intent["id"]))["status"] == "requires_payment_method"


@pytest.mark.stripe_only
class TestStripeMode:
    async def test_the_sandbox_routes_are_404(
        self, client: httpx.AsyncClient, user: dict[str, str], frontend: Frontend
    ) -> None:
        intent = await frontend.create_setup_intent()
        for path, body in (
            (
                f"/v1/sandbox/setup-intents/{intent['id']}/confirm",
                {"payment_method": "pm_card_visa"},
            ),
            (f"/v1/sandbox/setup-intents/{intent['id']}/authenticate", {"success": True}),
            ("/v1/sandbox/payment-intents/pi_123/authenticate", {"success": True}),
        ):
            response = await client.post(path, headers=user, json=body)
            assert response.status_code == 404
