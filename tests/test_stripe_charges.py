"""Charges in Stripe mode: each charge of an invoice is a PaymentIntent on the primary card
(off-session, confirmed, with the invoice's ids in its metadata), read back from localstripe.

localstripe ignores the Idempotency-Key header, so "a retried request never charges twice"
is not observable here; tests/test_invoices.py covers the concurrency side in both modes."""

from collections.abc import Callable

import httpx
import pytest
import stripe

from tests.factories import (
    create_billed_invoice,
    create_card,
)
from tests.stripe_server import attached_card, customer_of

pytestmark = pytest.mark.stripe_only

ACCOUNT = "acct_stripe_charges"
Auth = Callable[..., dict[str, str]]
# 720 * 2 + 50 * 10 from the default lines in tests.factories.invoice_body
DEFAULT_TOTAL = 1940


@pytest.fixture
def user(auth: Auth) -> dict[str, str]:
    return auth(ACCOUNT)


async def intents_for(
    stripe_api: stripe.StripeClient, invoice_id: str
) -> list[stripe.PaymentIntent]:
    listed = await stripe_api.v1.payment_intents.list_async({"limit": 100})
    return [
        intent
        for intent in listed.data
        if intent.metadata.to_dict().get("invoice_id") == invoice_id
    ]


class TestCharges:
    async def test_finalizing_charges_the_primary_card_with_a_payment_intent(
        self,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        stripe_api: stripe.StripeClient,
    ) -> None:
        invoice = await create_billed_invoice(client, admin, user, ACCOUNT, "4242424242424242")
        assert invoice["status"] == "paid"
        customer = await customer_of(stripe_api, ACCOUNT)
        card = await attached_card(stripe_api, customer.id, "4242")
        [intent] = await intents_for(stripe_api, invoice["id"])
        assert intent.status == "succeeded"
        assert (intent.amount, intent.currency) == (DEFAULT_TOTAL, "eur")
        assert (intent.customer, intent.payment_method) == (customer.id, card.id)
        assert intent.metadata.to_dict() == {"invoice_id": invoice["id"], "project_id": "proj_1"}

    async def test_a_declined_charge_leaves_the_invoice_due(
        self,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        stripe_api: stripe.StripeClient,
    ) -> None:
        invoice = await create_billed_invoice(client, admin, user, ACCOUNT, "4000000000000341")
        assert invoice["status"] == "payment_due"
        assert invoice["next_payment_attempt"] is not None
        assert [(a["outcome"], a["decline_code"]) for a in invoice["payment_attempts"]] == [
            ("failed", "card_declined")
        ]
        [intent] = await intents_for(stripe_api, invoice["id"])
        assert intent.status != "succeeded"

    async def test_paying_by_hand_charges_the_new_primary_card(
        self,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        stripe_api: stripe.StripeClient,
    ) -> None:
        invoice = await create_billed_invoice(client, admin, user, ACCOUNT, "4000000000000341")
        response = await client.post(
            f"/v1/admin/invoices/{invoice['id']}/mark-uncollectible", headers=admin
        )
        assert response.json()["status"] == "not_paid"
        declined = await client.post(f"/v1/invoices/{invoice['id']}/pay", headers=user)
        assert declined.status_code == 402
        assert declined.json()["code"] == "card_declined"
        good = await create_card(client, user, "5555555555554444")
        switched = await client.post(f"/v1/cards/{good['id']}/primary", headers=user)
        assert switched.status_code == 200
        paid = await client.post(f"/v1/invoices/{invoice['id']}/pay", headers=user)
        assert paid.status_code == 200, paid.text
        assert paid.json()["status"] == "paid"
        customer = await customer_of(stripe_api, ACCOUNT)
        card = await attached_card(stripe_api, customer.id, "4444")
        intents = await intents_for(stripe_api, invoice["id"])
        assert len(intents) == 3
        succeeded = [intent for intent in intents if intent.status == "succeeded"]
        assert [intent.payment_method for intent in succeeded] == [card.id]
