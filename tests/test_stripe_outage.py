"""Stripe failing: unreachable (503), silent until the timeout (503), or refusing the request
(502). Every call that needs Stripe answers with the contract's error, never a 500, and
leaves our data exactly as it was.

The data is made through the normal app; the failing call goes through a second app on the
same database whose BILLING_STRIPE_API_BASE (or key) is broken."""

from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
import stripe
from pydantic import SecretStr

from app.core.config import Settings
from tests.clock import FrozenClock
from tests.factories import (
    VALID_BILLING_DETAILS,
    create_card,
    create_invoice,
    create_payment_method,
    create_project,
    set_billing_details,
)
from tests.stripe_server import client_for, silent_server, unreachable_url

pytestmark = pytest.mark.stripe_only

ACCOUNT = "acct_stripe_outage"
Auth = Callable[..., dict[str, str]]
Headers = dict[str, str]

FAULTS = {
    "unreachable": (503, "payment_provider_unavailable"),
    "silent": (503, "payment_provider_unavailable"),
    "refusing": (502, "payment_provider_error"),
}


@pytest.fixture(params=list(FAULTS))
def fault(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def failing(
    fault: str, settings: Settings, clock: FrozenClock
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app on the same database whose Stripe has the `fault`."""
    with ExitStack() as stack:
        changes: dict[str, Any]
        if fault == "refusing":
            # Not a secret key: Stripe (and localstripe) answer 401, which no retry changes.
            changes = {"stripe_api_key": SecretStr("revoked-key")}
        else:
            base = stack.enter_context(silent_server()) if fault == "silent" else unreachable_url()
            changes = {"stripe_api_base": base, "stripe_timeout_seconds": 0.2}
        async with client_for(settings.model_copy(update=changes), clock) as http:
            yield http


@pytest.fixture
def user(auth: Auth) -> Headers:
    return auth(ACCOUNT)


@pytest.fixture
async def account(client: httpx.AsyncClient, admin: Headers, user: Headers) -> dict[str, Any]:
    """Billing details, two cards and a draft invoice, made while Stripe is up."""
    await create_project(client, admin, ACCOUNT)
    await set_billing_details(client, user)
    primary = await create_card(client, user)
    other = await create_card(client, user, "5555555555554444")
    invoice = await create_invoice(client, admin, ACCOUNT)
    return {"primary": primary, "other": other, "invoice": invoice}


async def state(client: httpx.AsyncClient, user: Headers, account: dict[str, Any]) -> list[Any]:
    """Everything the failing calls could have changed, read through the API."""
    return [
        (await client.get(path, headers=user)).json()
        for path in ("/v1/cards", "/v1/billing-details", f"/v1/invoices/{account['invoice']['id']}")
    ]


def assert_provider_failure(response: httpx.Response, fault: str) -> None:
    status, code = FAULTS[fault]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    if status == 503:
        assert response.headers["retry-after"]


class TestStripeFailing:
    async def test_adding_a_card(
        self,
        client: httpx.AsyncClient,
        failing: httpx.AsyncClient,
        user: Headers,
        account: dict[str, Any],
        fault: str,
    ) -> None:
        before = await state(client, user, account)
        payment_method = await create_payment_method(client, user, "6011111111111117")
        response = await failing.post(
            "/v1/cards", headers=user, json={"payment_method": payment_method}
        )
        assert_provider_failure(response, fault)
        assert await state(client, user, account) == before

    async def test_switching_the_primary_card(
        self,
        client: httpx.AsyncClient,
        failing: httpx.AsyncClient,
        user: Headers,
        account: dict[str, Any],
        fault: str,
    ) -> None:
        before = await state(client, user, account)
        response = await failing.post(f"/v1/cards/{account['other']['id']}/primary", headers=user)
        assert_provider_failure(response, fault)
        assert await state(client, user, account) == before

    async def test_changing_billing_details(
        self,
        client: httpx.AsyncClient,
        failing: httpx.AsyncClient,
        user: Headers,
        account: dict[str, Any],
        fault: str,
    ) -> None:
        before = await state(client, user, account)
        body = {**VALID_BILLING_DETAILS, "name": "Someone Else"}
        response = await failing.put("/v1/billing-details", headers=user, json=body)
        assert_provider_failure(response, fault)
        assert await state(client, user, account) == before

    async def test_finalizing_an_invoice(
        self,
        client: httpx.AsyncClient,
        failing: httpx.AsyncClient,
        admin: Headers,
        user: Headers,
        account: dict[str, Any],
        fault: str,
    ) -> None:
        before = await state(client, user, account)
        response = await failing.post(
            f"/v1/admin/invoices/{account['invoice']['id']}/finalize", headers=admin
        )
        assert_provider_failure(response, fault)
        assert await state(client, user, account) == before
        invoice = before[2]
        assert (invoice["status"], invoice["number"], invoice["attempt_count"]) == (
            "payment_pending",
            None,
            0,
        )

    async def test_the_first_details_of_a_new_account(
        self,
        client: httpx.AsyncClient,
        failing: httpx.AsyncClient,
        auth: Auth,
        stripe_api: stripe.StripeClient,
        fault: str,
    ) -> None:
        # No Stripe customer yet: creating it is the call that fails.
        newcomer = auth("acct_newcomer")
        response = await failing.put(
            "/v1/billing-details", headers=newcomer, json=VALID_BILLING_DETAILS
        )
        assert_provider_failure(response, fault)
        details = (await client.get("/v1/billing-details", headers=newcomer)).json()
        assert (details["name"], details["is_complete"]) == (None, False)
        customers = await stripe_api.v1.customers.list_async({"limit": 100})
        assert customers.data == []
