"""Billing details in Stripe mode: every change lands on the account's one Stripe customer
(read back from localstripe): name, email, address, and the VAT id as an `eu_vat` tax id."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import stripe

from tests.factories import create_card, set_billing_details
from tests.stripe_server import customer_of

pytestmark = pytest.mark.stripe_only

ACCOUNT = "acct_stripe_details"
Auth = Callable[..., dict[str, str]]

BERLIN: dict[str, Any] = {
    "name": "Analytical Engines GmbH",
    "email": "billing@engines.example",
    "address": {
        "line1": "Unter den Linden 1",
        "line2": "3. OG",
        "city": "Berlin",
        "postal_code": "10117",
        "state": None,
        "country": "DE",
    },
    "vat_id": "DE136695976",
}


async def tax_ids(stripe_api: stripe.StripeClient, customer_id: str) -> list[tuple[str, str]]:
    listed = await stripe_api.v1.customers.tax_ids.list_async(customer_id)
    return [(tax_id.type, tax_id.value) for tax_id in listed.data]


async def patch(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> None:
    response = await client.patch("/v1/billing-details", headers=headers, json=body)
    assert response.status_code == 200, response.text


class TestCustomerSync:
    async def test_details_are_set_on_the_customer(
        self, client: httpx.AsyncClient, auth: Auth, stripe_api: stripe.StripeClient
    ) -> None:
        await set_billing_details(client, auth(ACCOUNT), **BERLIN)
        customer = await customer_of(stripe_api, ACCOUNT)
        assert (customer.name, customer.email) == (BERLIN["name"], BERLIN["email"])
        assert customer.address is not None
        address = customer.address
        assert (address.line1, address.line2, address.city, address.postal_code) == (
            "Unter den Linden 1",
            "3. OG",
            "Berlin",
            "10117",
        )
        assert address.country == "DE"
        assert await tax_ids(stripe_api, customer.id) == [("eu_vat", "DE136695976")]

    async def test_every_change_is_synced_and_the_vat_id_replaced(
        self, client: httpx.AsyncClient, auth: Auth, stripe_api: stripe.StripeClient
    ) -> None:
        headers = auth(ACCOUNT)
        await set_billing_details(client, headers, **BERLIN)
        await patch(client, headers, {"email": "accounts@engines.example", "vat_id": "DE811569869"})
        customer = await customer_of(stripe_api, ACCOUNT)
        assert customer.email == "accounts@engines.example"
        assert await tax_ids(stripe_api, customer.id) == [("eu_vat", "DE811569869")]
        await patch(client, headers, {"vat_id": None, "address": {"line2": None}})
        customer = await customer_of(stripe_api, ACCOUNT)
        assert await tax_ids(stripe_api, customer.id) == []
        assert customer.address is not None
        # The service clears a field with "", as Stripe's API asks; real Stripe then answers
        # null, localstripe keeps the "".
        assert customer.address.line2 in (None, "")

    async def test_a_vat_id_outside_the_eu_is_not_sent_as_eu_vat(
        self, client: httpx.AsyncClient, auth: Auth, stripe_api: stripe.StripeClient
    ) -> None:
        # Only EU numbers are checked and valid as `eu_vat`; Stripe would refuse this one.
        await set_billing_details(client, auth(ACCOUNT), vat_id="GB980780684")
        customer = await customer_of(stripe_api, ACCOUNT)
        assert customer.address is not None
        assert customer.address.country == "GB"
        assert await tax_ids(stripe_api, customer.id) == []

    async def test_one_customer_per_account(
        self, client: httpx.AsyncClient, auth: Auth, stripe_api: stripe.StripeClient
    ) -> None:
        headers = auth(ACCOUNT)
        await set_billing_details(client, headers, **BERLIN)
        await create_card(client, headers)
        await patch(client, headers, {"name": "Engines AG"})
        await set_billing_details(client, auth("acct_other"))
        customer = await customer_of(stripe_api, ACCOUNT)
        assert customer.name == "Engines AG"
        assert (await customer_of(stripe_api, "acct_other")).id != customer.id
