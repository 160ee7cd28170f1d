"""`billing stripe-sync [ACCOUNT]`, run as the real command in a separate process: it repairs
what missed webhooks and failed calls left behind, and keeps one primary card.

Stripe's side is changed behind the service's back with the SDK (as a missed webhook would
leave it). localstripe cannot change a card's expiry (its PaymentMethod update replaces the
whole `card` hash), so the expiry test moves ours instead and lets the sync put Stripe's back."""

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from app.core.config import Settings
from tests.clock import FrozenClock
from tests.factories import create_card, create_payment_method
from tests.stripe_server import (
    attached_card,
    attached_cards,
    client_for,
    customer_of,
    default_payment_method,
    event_body,
    signature_header,
    unreachable_url,
)

pytestmark = pytest.mark.stripe_only

ACCOUNT = "acct_stripe_sync"
Auth = Callable[..., dict[str, str]]


async def stripe_sync(settings: Settings, *arguments: str, **env: str) -> tuple[int, list[str]]:
    """Run `billing stripe-sync` on the test database; its exit code and summary lines."""
    assert settings.stripe_api_key is not None
    assert settings.stripe_api_base is not None
    variables = {
        name: value for name, value in os.environ.items() if not name.startswith("BILLING_")
    }
    variables |= {
        "BILLING_ENV": "development",
        "BILLING_DATABASE_URL": settings.database_url,
        "BILLING_JWT_SECRET": settings.jwt_key,
        "BILLING_PAYMENT_PROVIDER": "stripe",
        "BILLING_STRIPE_API_KEY": settings.stripe_api_key.get_secret_value(),
        "BILLING_STRIPE_API_BASE": settings.stripe_api_base,
        "BILLING_STRIPE_TIMEOUT_SECONDS": "5",
    }
    variables |= env
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("billing")),
        "stripe-sync",
        *arguments,
        env=variables,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    # Log lines are JSON; the summary is plain text.
    lines = [line for line in output.decode().splitlines() if not line.startswith("{")]
    return process.returncode, lines


async def cards(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/v1/cards", headers=headers)
    assert response.status_code == 200
    return list(response.json()["data"])


class TestStripeSync:
    async def test_cards_gone_at_stripe_are_removed_and_the_newest_becomes_primary(
        self,
        client: httpx.AsyncClient,
        auth: Auth,
        settings: Settings,
        stripe_api: stripe.StripeClient,
    ) -> None:
        headers = auth(ACCOUNT)
        await create_card(client, headers)
        older = await create_card(client, headers, "5555555555554444")
        newer = await create_card(client, headers, "6011111111111117")
        await create_card(client, headers, "3566002020360505")
        customer = await customer_of(stripe_api, ACCOUNT)
        # Detached at Stripe, webhooks missed: the primary and the newest card.
        for last4 in ("4242", "0505"):
            method = await attached_card(stripe_api, customer.id, last4)
            await stripe_api.v1.payment_methods.detach_async(method.id)
        code, lines = await stripe_sync(settings, ACCOUNT)
        assert code == 0, lines
        assert lines == [
            f"{ACCOUNT}: 2 card(s) removed, 0 refreshed, 0 detached at Stripe, "
            f"{newer['id']} is now primary",
            "1 account(s) checked: 1 repaired, 0 failed",
        ]
        assert [(c["id"], c["is_primary"]) for c in await cards(client, headers)] == [
            (newer["id"], True),
            (older["id"], False),
        ]
        customer = await customer_of(stripe_api, ACCOUNT)
        primary = await attached_card(stripe_api, customer.id, "1117")
        assert default_payment_method(customer) == primary.id
        code, lines = await stripe_sync(settings, ACCOUNT)
        assert lines == [f"{ACCOUNT}: in sync", "1 account(s) checked: 0 repaired, 0 failed"]

    async def test_expiry_and_digits_are_taken_from_stripe(
        self,
        client: httpx.AsyncClient,
        auth: Auth,
        settings: Settings,
        stripe_api: stripe.StripeClient,
    ) -> None:
        headers = auth(ACCOUNT)
        card = await create_card(client, headers, exp_month=12, exp_year=2030)
        customer = await customer_of(stripe_api, ACCOUNT)
        method = (await attached_card(stripe_api, customer.id, "4242")).to_dict()
        method["card"].update(last4="0000", exp_month=6, exp_year=2035)
        body = event_body("evt_drift", "payment_method.updated", method)
        response = await client.post(
            "/v1/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": signature_header(body)},
        )
        assert response.status_code == 200
        code, lines = await stripe_sync(settings, ACCOUNT)
        assert code == 0, lines
        assert lines[0] == f"{ACCOUNT}: 0 card(s) removed, 1 refreshed, 0 detached at Stripe"
        [current] = await cards(client, headers)
        assert (current["id"], current["last4"], current["exp_month"], current["exp_year"]) == (
            card["id"],
            "4242",
            12,
            2030,
        )

    async def test_a_removal_whose_detach_failed_is_finished(
        self,
        client: httpx.AsyncClient,
        auth: Auth,
        settings: Settings,
        clock: FrozenClock,
        stripe_api: stripe.StripeClient,
    ) -> None:
        headers = auth(ACCOUNT)
        await create_card(client, headers)
        second = await create_card(client, headers, "5555555555554444")
        customer = await customer_of(stripe_api, ACCOUNT)
        leftover = await attached_card(stripe_api, customer.id, "4444")
        # The card is removed here first and detached after the commit: with Stripe down the
        # removal still succeeds and the payment method stays attached there.
        down = settings.model_copy(update={"stripe_api_base": unreachable_url()})
        async with client_for(down, clock) as failing:
            response = await failing.delete(f"/v1/cards/{second['id']}", headers=headers)
        assert response.status_code == 204
        assert len(await cards(client, headers)) == 1
        assert len(await attached_cards(stripe_api, customer.id)) == 2
        code, lines = await stripe_sync(settings, ACCOUNT)
        assert code == 0, lines
        assert lines[0] == f"{ACCOUNT}: 0 card(s) removed, 0 refreshed, 1 detached at Stripe"
        detached = await stripe_api.v1.payment_methods.retrieve_async(leftover.id)
        assert detached.customer is None
        assert len(await cards(client, headers)) == 1

    async def test_without_an_account_every_account_with_a_customer_is_synced(
        self,
        client: httpx.AsyncClient,
        auth: Auth,
        settings: Settings,
        stripe_api: stripe.StripeClient,
    ) -> None:
        await create_card(client, auth("acct_a"))
        await create_card(client, auth("acct_b"))
        # An account that never reached Stripe has nothing to sync.
        assert (await client.get("/v1/cards", headers=auth("acct_c"))).status_code == 200
        payment_method = await create_payment_method(client, auth("acct_b"))
        await stripe_api.v1.payment_methods.attach_async(
            payment_method, {"customer": (await customer_of(stripe_api, "acct_b")).id}
        )
        code, lines = await stripe_sync(settings)
        assert code == 0, lines
        assert lines == [
            "acct_a: in sync",
            "acct_b: 0 card(s) removed, 0 refreshed, 1 detached at Stripe",
            "2 account(s) checked: 1 repaired, 0 failed",
        ]

    async def test_with_stripe_down_it_fails_and_changes_nothing(
        self,
        client: httpx.AsyncClient,
        auth: Auth,
        settings: Settings,
        stripe_api: stripe.StripeClient,
    ) -> None:
        headers = auth(ACCOUNT)
        await create_card(client, headers)
        customer = await customer_of(stripe_api, ACCOUNT)
        await stripe_api.v1.payment_methods.detach_async(
            (await attached_card(stripe_api, customer.id, "4242")).id
        )
        code, lines = await stripe_sync(
            settings, ACCOUNT, BILLING_STRIPE_API_BASE=unreachable_url()
        )
        assert code == 1
        assert lines[-1] == "1 account(s) checked: 0 repaired, 1 failed"
        assert len(await cards(client, headers)) == 1

    async def test_it_needs_stripe_mode(self, settings: Settings) -> None:
        code, lines = await stripe_sync(settings, BILLING_PAYMENT_PROVIDER="sandbox")
        assert code == 2
        assert lines == ["billing: stripe-sync needs BILLING_PAYMENT_PROVIDER=stripe"]
