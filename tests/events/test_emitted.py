"""Every listed change writes its event in its own transaction: an event exists if and only
if the change committed, and its data.object is the resource as the API shows it."""

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.cards.expiry import ExpiryScanner, announce_expiring_cards
from app.invoices.collection import collect_due
from app.payments.errors import PaymentProviderUnavailable
from app.payments.provider import ChargeRequest, ChargeResult, CustomerDetails
from app.sandbox.provider import SandboxProvider
from tests.factories import (
    create_billed_invoice,
    create_card,
    create_invoice,
    create_project,
    finalize_invoice,
    parse_time,
    set_billing_details,
)
from tests.test_collection import collector
from tests.three_d_secure import AUTH_ALWAYS, AUTH_ON_SETUP, Frontend

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
            clock.set(parse_time(shown["next_payment_attempt"]))
            await collect_due(collector(app))

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
        final = (await client.get(f"/v1/invoices/{due['id']}", headers=user)).json()
        assert final["status"] == "not_paid"
        assert events[6]["data"]["object"] == final

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


class _ProviderDown(SandboxProvider):
    """The sandbox, unreachable once `down` is set: its charge and customer updates fail."""

    def __init__(self, session: Any, settings: Any, clock: Any, down: list[bool]) -> None:
        super().__init__(session, settings, clock)
        self._down = down

    async def update_customer(self, customer_id: str, details: CustomerDetails) -> None:
        if self._down:
            raise PaymentProviderUnavailable("The payment provider did not answer.")
        await super().update_customer(customer_id, details)

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        if self._down:
            raise PaymentProviderUnavailable("The payment provider did not answer.")
        return await super().charge(request)


@pytest.mark.sandbox_only
class TestRolledBackChangesAnnounceNothing:
    """The event is written before the step that fails: it must roll back with the change."""

    @pytest.fixture
    def down(self) -> list[bool]:
        return []

    @pytest.fixture
    def provider_factory(self, settings, clock, down):  # type: ignore[no-untyped-def]
        return lambda session: _ProviderDown(session, settings, clock, down)

    async def test_a_finalization_whose_charge_fails(self, client, admin, user, down):
        await create_project(client, admin, ACCOUNT)
        await set_billing_details(client, user)
        await create_card(client, user)
        draft = await create_invoice(client, admin, ACCOUNT)
        before = await events_of(client, admin)
        down.append(True)
        response = await client.post(f"/v1/admin/invoices/{draft['id']}/finalize", headers=admin)
        assert response.status_code == 503
        assert await events_of(client, admin) == before
        down.clear()
        await finalize_invoice(client, admin, draft["id"])
        after = types(await events_of(client, admin))[len(before) :]
        assert after == ["invoice.finalized", "invoice.paid"]

    async def test_billing_details_the_provider_did_not_take(self, client, admin, user, down):
        await set_billing_details(client, user)
        down.append(True)
        response = await client.patch("/v1/billing-details", headers=user, json={"name": "X"})
        assert response.status_code == 503
        assert types(await events_of(client, admin)) == ["billing_details.updated"]


class TestCardExpiry:
    async def test_expiring_soon_is_shown_and_announced_once(self, app, client, admin, user, clock):
        clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=UTC))
        # Valid through 31 December: its month ends 37 days from now, not yet "soon".
        december = await create_card(client, user, exp_month=12, exp_year=2026)
        later = await create_card(client, user, "5555555555554444", exp_month=1, exp_year=2027)
        assert [december["is_expiring_soon"], later["is_expiring_soon"]] == [False, False]
        scanner = ExpiryScanner(app.state.runtime.sessionmaker, clock)
        assert await announce_expiring_cards(scanner) == 0

        clock.set(datetime(2026, 12, 2, 0, 0, tzinfo=UTC))  # 30 days before 1 January
        assert await announce_expiring_cards(scanner) == 1
        assert await announce_expiring_cards(scanner) == 0
        shown = {
            card["id"]: card
            for card in (await client.get("/v1/cards", headers=user)).json()["data"]
        }
        assert shown[december["id"]]["is_expiring_soon"] is True
        assert shown[later["id"]]["is_expiring_soon"] is False
        expiring = [e for e in await events_of(client, admin) if e["type"] == "card.expiring"]
        assert [e["data"]["object"]["id"] for e in expiring] == [december["id"]]
        assert expiring[0]["data"]["object"]["is_expiring_soon"] is True

        clock.set(datetime(2027, 1, 1, 0, 0, tzinfo=UTC))  # expired now; January's turn
        assert await announce_expiring_cards(scanner) == 0
        clock.set(datetime(2027, 1, 2, 0, 0, tzinfo=UTC))
        assert await announce_expiring_cards(scanner) == 1
        shown = {
            card["id"]: card
            for card in (await client.get("/v1/cards", headers=user)).json()["data"]
        }
        assert (shown[december["id"]]["is_expired"], shown[december["id"]]["is_expiring_soon"]) == (
            True,
            False,
        )


class TestThreeDSecureEvents:
    async def test_a_card_saved_through_a_setup_intent_is_announced_once(
        self, client, admin, user, stripe_client, settings
    ):
        frontend = Frontend(client, user, stripe_client, settings.stripe_api_base)
        intent = await frontend.create_setup_intent()
        assert await frontend.confirm_setup(intent, AUTH_ON_SETUP) is None
        await frontend.authenticate_setup(intent)
        added = await client.post("/v1/cards", headers=user, json={"setup_intent": intent["id"]})
        again = await client.post("/v1/cards", headers=user, json={"setup_intent": intent["id"]})
        assert (added.status_code, again.status_code) == (201, 200)
        events = await events_of(client, admin)
        assert types(events) == ["card.added"]
        assert events[0]["data"]["object"] == added.json()

    async def test_a_charge_awaiting_authentication_is_a_failed_payment_with_its_next_action(
        self, client, admin, user, stripe_client, settings
    ):
        frontend = Frontend(client, user, stripe_client, settings.stripe_api_base)
        due = await frontend.billed_invoice(admin, ACCOUNT, AUTH_ALWAYS)
        events = [e for e in await events_of(client, admin) if e["type"].startswith("invoice.")]
        assert types(events) == ["invoice.finalized", "invoice.payment_failed"]
        failed = events[-1]["data"]["object"]
        assert failed["failure_reason"] == "authentication_required"
        assert failed["next_action"] == due["next_action"]
        assert failed["next_action"]["client_secret"]

        response = await frontend.authenticate_payment(failed["next_action"], success=True)
        assert response.status_code == 200, response.text
        await frontend.report_payment(failed["next_action"]["payment_intent"])
        events = [e for e in await events_of(client, admin) if e["type"].startswith("invoice.")]
        assert types(events)[-1] == "invoice.paid"
        assert events[-1]["data"]["object"]["next_action"] is None
