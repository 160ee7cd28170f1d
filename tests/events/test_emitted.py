"""Every listed change writes its event in its own transaction: an event exists if and only
if the change committed, and its data.object is the resource as the API shows it."""

from datetime import datetime
from typing import Any

import httpx
import pytest

from app.invoices.collection import collect_due
from tests.factories import (
    create_billed_invoice,
    create_card,
    create_invoice,
    create_project,
    finalize_invoice,
    set_billing_details,
)

ACCOUNT = "acct_emitted"


@pytest.fixture
def user(auth: Any) -> dict[str, str]:
    return dict(auth(ACCOUNT))


async def events_of(
    client: httpx.AsyncClient, admin: dict[str, str], account_id: str = ACCOUNT
) -> list[dict[str, Any]]:
    """The account's events, oldest first."""
    response = await client.get(
        "/v1/admin/events", headers=admin, params={"account_id": account_id, "limit": 100}
    )
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["data"]))


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


class TestCardEvents:
    async def test_added_primary_changed_removed(self, client, admin, user):
        first = await create_card(client, user)
        second = await create_card(client, user, "5555555555554444")
        switched = (await client.post(f"/v1/cards/{second['id']}/primary", headers=user)).json()
        # Already primary: nothing changes, nothing is announced.
        await client.post(f"/v1/cards/{second['id']}/primary", headers=user)
        assert (await client.delete(f"/v1/cards/{first['id']}", headers=user)).status_code == 204

        events = await events_of(client, admin)
        assert types(events) == ["card.added", "card.added", "card.primary_changed", "card.removed"]
        objects = [event["data"]["object"] for event in events]
        assert objects[:3] == [first, second, switched]
        assert objects[3] == {**first, "is_primary": False}
        assert {event["account_id"] for event in events} == {ACCOUNT}

    async def test_refused_changes_announce_nothing(self, client, admin, user):
        card = await create_card(client, user)
        assert (await client.delete(f"/v1/cards/{card['id']}", headers=user)).status_code == 409
        assert (await client.post("/v1/cards/card_nope/primary", headers=user)).status_code == 404
        declined = await client.post(
            "/v1/cards", headers=user, json={"payment_method": "pm_card_chargeDeclined"}
        )
        assert declined.status_code in (402, 404)
        assert types(await events_of(client, admin)) == ["card.added"]


class TestBillingDetailsEvents:
    async def test_each_change_is_announced_with_the_details_shown(self, client, admin, user):
        put = await set_billing_details(client, user)
        patched = await client.patch("/v1/billing-details", headers=user, json={"name": "Ada King"})
        refused = await client.patch(
            "/v1/billing-details", headers=user, json={"email": "not an email"}
        )
        assert refused.status_code == 422
        events = await events_of(client, admin)
        assert types(events) == ["billing_details.updated"] * 2
        assert [event["data"]["object"] for event in events] == [put, patched.json()]


class TestInvoiceEvents:
    async def test_finalized_then_paid(self, client, admin, user):
        invoice = await create_billed_invoice(client, admin, user, ACCOUNT, "4242424242424242")
        events = [e for e in await events_of(client, admin) if e["type"].startswith("invoice.")]
        assert types(events) == ["invoice.finalized", "invoice.paid"]
        finalized, paid = (event["data"]["object"] for event in events)
        assert (finalized["status"], finalized["number"]) == ("payment_pending", invoice["number"])
        shown = (await client.get(f"/v1/invoices/{invoice['id']}", headers=user)).json()
        assert paid == shown

    async def test_every_failed_charge_then_not_paid(self, app, client, admin, user, clock):
        due = await create_billed_invoice(client, admin, user, ACCOUNT, "4000000000000341")
        declined = await client.post(f"/v1/invoices/{due['id']}/pay", headers=user)
        assert declined.status_code == 402
        for _ in range(3):
            shown = (await client.get(f"/v1/invoices/{due['id']}", headers=user)).json()
            clock.set(parse(shown["next_payment_attempt"]))
            await collect_due(app.state.collector)

        events = [e for e in await events_of(client, admin) if e["type"].startswith("invoice.")]
        assert types(events) == [
            "invoice.finalized",
            *["invoice.payment_failed"] * 5,
            "invoice.not_paid",
        ]
        failed = [event["data"]["object"] for event in events[1:6]]
        assert [f["attempt_count"] for f in failed] == [1, 2, 3, 4, 5]
        assert {f["failure_reason"] for f in failed} == {"card_declined"}
        assert all(f["next_payment_attempt"] for f in failed[:4])
        assert failed[4]["next_payment_attempt"] is None
        assert all("next_action" in f for f in failed)
        final = (await client.get(f"/v1/invoices/{due['id']}", headers=user)).json()
        assert events[6]["data"]["object"] == final == {**final, "status": "not_paid"}

    async def test_voided_and_marked_uncollectible(self, client, admin, user):
        await create_project(client, admin, ACCOUNT)
        await set_billing_details(client, user)
        draft = await create_invoice(client, admin, ACCOUNT)
        other = await finalize_invoice(
            client, admin, (await create_invoice(client, admin, ACCOUNT))["id"]
        )
        voided = await client.post(f"/v1/admin/invoices/{draft['id']}/void", headers=admin)
        uncollectible = await client.post(
            f"/v1/admin/invoices/{other['id']}/mark-uncollectible", headers=admin
        )
        events = [e for e in await events_of(client, admin) if e["type"].startswith("invoice.")]
        assert types(events)[-2:] == ["invoice.voided", "invoice.not_paid"]
        assert events[-2]["data"]["object"] == voided.json()
        assert events[-1]["data"]["object"] == uncollectible.json()

    async def test_a_new_primary_card_paying_what_is_due_is_announced(self, client, admin, user):
        due = await create_billed_invoice(client, admin, user, ACCOUNT, "4000000000000341")
        good = await create_card(client, user, "5555555555554444")
        await client.post(f"/v1/cards/{good['id']}/primary", headers=user)
        events = await events_of(client, admin)
        assert types(events)[-2:] == ["card.primary_changed", "invoice.paid"]
        assert events[-1]["data"]["object"]["id"] == due["id"]
