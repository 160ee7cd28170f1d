"""The frontend's part of 3-D Secure, played the same way in either mode.

In production Stripe.js confirms a setup intent or a payment with its `client_secret` and
shows the bank's challenge. Here, in sandbox mode, the service's own `/v1/sandbox` routes
play Stripe.js and the bank; in Stripe mode localstripe's endpoints do
(`POST /v1/setup_intents/{id}/confirm`, `POST /v1/payment_intents/{id}/_authenticate`), and
what Stripe would then report by webhook is delivered as a signed event.
"""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import stripe

from tests.factories import create_invoice, create_project, finalize_invoice, set_billing_details
from tests.stripe_server import API_KEY, event_body, signature_header

Headers = dict[str, str]

# Stripe's 3-D Secure test cards.
AUTH_ON_SETUP = "4000002500003155"  # authenticated once when saved, then charged freely
AUTH_ALWAYS = "4000002760003184"  # authenticated when saved and on every charge


@dataclass
class Frontend:
    """One account's browser: Stripe.js (or the sandbox standing in for it) and the bank."""

    client: httpx.AsyncClient
    headers: Headers
    stripe_api: stripe.StripeClient | None
    stripe_base: str | None

    @property
    def on_stripe(self) -> bool:
        return self.stripe_api is not None

    async def create_setup_intent(self) -> dict[str, Any]:
        response = await self.client.post("/v1/cards/setup-intents", headers=self.headers)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def setup_intent(self, intent_id: str) -> dict[str, Any]:
        response = await self.client.get(
            f"/v1/cards/setup-intents/{intent_id}", headers=self.headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def confirm_setup(
        self, intent: dict[str, Any], number: str, *, exp_month: int = 12, exp_year: int = 2030
    ) -> str | None:
        """`confirmCardSetup` with a card typed in: None, or the decline code if declined."""
        card = {"number": number, "exp_month": exp_month, "exp_year": exp_year, "cvc": "123"}
        if self.stripe_api is None:
            response = await self.client.post(
                f"/v1/sandbox/setup-intents/{intent['id']}/confirm", headers=self.headers, json=card
            )
            if response.status_code == 402:
                return str(response.json()["code"])
            assert response.status_code == 200, response.text
            return None
        method = await self.stripe_api.v1.payment_methods.create_async(
            {"type": "card", "card": card}
        )
        try:
            await self.stripe_api.v1.setup_intents.confirm_async(
                intent["id"],
                {"payment_method": method.id, "client_secret": intent["client_secret"]},
            )
        except stripe.CardError as exc:
            return str(exc.code)
        return None

    async def authenticate_setup(self, intent: dict[str, Any], *, success: bool = True) -> None:
        """The cardholder passes (or fails) the bank's challenge for saving the card."""
        if self.stripe_api is None:
            response = await self.client.post(
                f"/v1/sandbox/setup-intents/{intent['id']}/authenticate",
                headers=self.headers,
                json={"success": success},
            )
            assert response.status_code == 200, response.text
            return
        # localstripe completes a setup intent's challenge by a second confirmation and has
        # no way to fail one: tests of a failed setup challenge run in the sandbox only.
        assert success, "localstripe cannot fail a setup intent's challenge"
        await self.stripe_api.v1.setup_intents.confirm_async(
            intent["id"], {"client_secret": intent["client_secret"]}
        )

    async def add_card(self, number: str, **card: Any) -> dict[str, Any]:
        """Save a card as a frontend does: setup intent, confirm, challenge if asked, add."""
        intent = await self.create_setup_intent()
        assert await self.confirm_setup(intent, number, **card) is None
        if (await self.setup_intent(intent["id"]))["status"] == "requires_action":
            await self.authenticate_setup(intent)
        response = await self.client.post(
            "/v1/cards", headers=self.headers, json={"setup_intent": intent["id"]}
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def billed_invoice(self, admin: Headers, account_id: str, number: str) -> dict[str, Any]:
        """A finalized invoice of the account, charged to `number` saved as above."""
        await create_project(self.client, admin, account_id)
        await set_billing_details(self.client, self.headers)
        await self.add_card(number)
        draft = await create_invoice(self.client, admin, account_id)
        return await finalize_invoice(self.client, admin, draft["id"])

    async def authenticate_payment(
        self, next_action: dict[str, Any], *, success: bool = True
    ) -> httpx.Response:
        """`confirmCardPayment(client_secret)`: the cardholder passes or fails the challenge."""
        intent_id = next_action["payment_intent"]
        if self.stripe_api is None:
            return await self.client.post(
                f"/v1/sandbox/payment-intents/{intent_id}/authenticate",
                headers=self.headers,
                json={"success": success},
            )
        assert self.stripe_base is not None
        async with httpx.AsyncClient(base_url=self.stripe_base) as emulator:
            return await emulator.post(
                f"/v1/payment_intents/{intent_id}/_authenticate",
                headers={"Authorization": f"Bearer {API_KEY}"},
                data={
                    "client_secret": next_action["client_secret"],
                    "success": "true" if success else "false",
                },
            )

    async def report_payment(self, payment_intent_id: str) -> None:
        """Stripe mode: deliver Stripe's webhook for the payment's current state, as Stripe
        would after the challenge. The sandbox applies the outcome at once: nothing to do."""
        if self.stripe_api is None:
            return
        intent = await self.stripe_api.v1.payment_intents.retrieve_async(payment_intent_id)
        event_type = (
            "payment_intent.succeeded"
            if intent.status == "succeeded"
            else "payment_intent.payment_failed"
        )
        await deliver_event(self.client, event_type, intent.to_dict())


async def deliver_event(
    client: httpx.AsyncClient, event_type: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Post a Stripe event to the service, signed as Stripe signs it; the receipt."""
    body = event_body(f"evt_{uuid.uuid4().hex[:24]}", event_type, data)
    response = await client.post(
        "/v1/webhooks/stripe",
        content=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": signature_header(body)},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())
