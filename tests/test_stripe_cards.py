"""Cards in Stripe mode: each card operation, and what Stripe holds afterwards (read back from
localstripe with the SDK). tests/test_cards.py runs the card rules themselves in both modes."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import stripe

from tests.factories import create_card, create_payment_method
from tests.stripe_server import (
    attached_card,
    attached_cards,
    customer_of,
    default_payment_method,
)

pytestmark = pytest.mark.stripe_only

ACCOUNT = "acct_stripe_cards"
Auth = Callable[..., dict[str, str]]


async def attached_last4s(stripe_api: stripe.StripeClient, customer_id: str) -> list[str]:
    methods = await attached_cards(stripe_api, customer_id)
    return sorted(method.card.last4 for method in methods if method.card is not None)


async def list_cards(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/v1/cards", headers=headers)
    assert response.status_code == 200
    return list(response.json()["data"])


class TestAddCard:
    async def test_the_card_is_attached_to_the_accounts_customer(
        self, client: httpx.AsyncClient, auth: Auth, stripe_api: stripe.StripeClient
    ) -> None:
        headers = auth(ACCOUNT)
        first = await create_card(client, headers)
        second = await create_card(client, headers, "5555555555554444", exp_month=4, exp_year=2031)
        assert (first["is_primary"], second["is_primary"]) == (True, False)
        assert (second["last4"], second["exp_month"], second["exp_year"]) == ("4444", 4, 2031)
        customer = await customer_of(stripe_api, ACCOUNT)
        assert await attached_last4s(stripe_api, customer.id) == ["4242", "4444"]
        # The first card became primary, so it is also Stripe's default.
        primary = await attached_card(stripe_api, customer.id, "4242")
        assert default_payment_method(customer) == primary.id

    async def test_stripes_named_test_token_works(
        self, client: httpx.AsyncClient, auth: Auth
    ) -> None:
        response = await client.post(
            "/v1/cards", headers=auth(ACCOUNT), json={"payment_method": "pm_card_visa"}
        )
        assert response.status_code == 201, response.text
        assert response.json()["last4"] == "4242"

    @pytest.mark.parametrize("payment_method", ["pm_card_visa_chargeDeclined", "declined_number"])
    async def test_a_declined_card_is_402_and_left_unattached(
        self,
        client: httpx.AsyncClient,
        auth: Auth,
        stripe_api: stripe.StripeClient,
        payment_method: str,
    ) -> None:
        headers = auth(ACCOUNT)
        await create_card(client, headers)
        if payment_method == "declined_number":
            payment_method = await create_payment_method(client, headers, "4000000000000002")
        response = await client.post(
            "/v1/cards", headers=headers, json={"payment_method": payment_method}
        )
        assert response.status_code == 402
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "card_declined"
        customer = await customer_of(stripe_api, ACCOUNT)
        assert len(await attached_cards(stripe_api, customer.id)) == 1
        assert len(await list_cards(client, headers)) == 1

    async def test_a_duplicate_is_caught_by_fingerprint_before_attaching(
        self, client: httpx.AsyncClient, auth: Auth, stripe_api: stripe.StripeClient
    ) -> None:
        headers = auth(ACCOUNT)
        await create_card(client, headers)
        # A new payment method for the same card number: Stripe gives it the same fingerprint.
        again = await create_payment_method(client, headers, exp_month=1, exp_year=2032)
        response = await client.post("/v1/cards", headers=headers, json={"payment_method": again})
        assert response.status_code == 409
        assert response.json()["code"] == "card_already_added"
        customer = await customer_of(stripe_api, ACCOUNT)
        assert len(await attached_cards(stripe_api, customer.id)) == 1
        method = await stripe_api.v1.payment_methods.retrieve_async(again)
        assert method.customer is None

    async def test_the_sandbox_token_endpoint_is_404(
        self, client: httpx.AsyncClient, auth: Auth
    ) -> None:
        response = await client.post(
            "/v1/sandbox/payment-methods",
            headers=auth(ACCOUNT),
            json={"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        )
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


class TestPrimaryCard:
    async def test_switching_primary_sets_stripes_default_payment_method(
        self, client: httpx.AsyncClient, auth: Auth, stripe_api: stripe.StripeClient
    ) -> None:
        headers = auth(ACCOUNT)
        first = await create_card(client, headers)
        second = await create_card(client, headers, "5555555555554444")
        response = await client.post(f"/v1/cards/{second['id']}/primary", headers=headers)
        assert response.status_code == 200
        customer = await customer_of(stripe_api, ACCOUNT)
        assert (
            default_payment_method(customer)
            == (await attached_card(stripe_api, customer.id, "4444")).id
        )
        response = await client.post(f"/v1/cards/{first['id']}/primary", headers=headers)
        assert response.status_code == 200
        customer = await customer_of(stripe_api, ACCOUNT)
        assert (
            default_payment_method(customer)
            == (await attached_card(stripe_api, customer.id, "4242")).id
        )


class TestDeleteCard:
    async def test_removing_a_card_detaches_it_at_stripe(
        self, client: httpx.AsyncClient, auth: Auth, stripe_api: stripe.StripeClient
    ) -> None:
        headers = auth(ACCOUNT)
        await create_card(client, headers)
        second = await create_card(client, headers, "5555555555554444")
        customer = await customer_of(stripe_api, ACCOUNT)
        method = await attached_card(stripe_api, customer.id, "4444")
        response = await client.delete(f"/v1/cards/{second['id']}", headers=headers)
        assert response.status_code == 204
        assert [card["last4"] for card in await list_cards(client, headers)] == ["4242"]
        detached = await stripe_api.v1.payment_methods.retrieve_async(method.id)
        assert detached.customer is None
        assert await attached_last4s(stripe_api, customer.id) == ["4242"]

    async def test_a_card_stripe_already_detached_is_still_removed(
        self, client: httpx.AsyncClient, auth: Auth, stripe_api: stripe.StripeClient
    ) -> None:
        # The payment_method.detached webhook has not arrived (yet): removal must not fail.
        headers = auth(ACCOUNT)
        await create_card(client, headers)
        second = await create_card(client, headers, "5555555555554444")
        customer = await customer_of(stripe_api, ACCOUNT)
        method = await attached_card(stripe_api, customer.id, "4444")
        await stripe_api.v1.payment_methods.detach_async(method.id)
        response = await client.delete(f"/v1/cards/{second['id']}", headers=headers)
        assert response.status_code == 204
        assert len(await list_cards(client, headers)) == 1
