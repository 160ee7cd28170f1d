"""Charges that need the cardholder (3-D Secure on a charge), in both modes.

An off-session charge the bank wants authenticated leaves the invoice `payment_due` with
`failure_reason: authentication_required` and a `next_action` for the frontend; passing the
challenge pays it, once; failing it is `authentication_failed`."""

import asyncio
from typing import Any

import httpx
import pytest

from app.invoices.collection import collect_due
from tests.factories import (
    create_billed_invoice,
    create_card,
    get_invoice,
    parse_time,
)
from tests.test_collection import collector
from tests.three_d_secure import AUTH_ALWAYS, AUTH_ON_SETUP, Frontend

ACCOUNT = "acct_three_d_secure"


@pytest.fixture
def user(auth: Any) -> dict[str, str]:
    return dict(auth(ACCOUNT))


def outcomes(invoice: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(a["outcome"], a["decline_code"]) for a in invoice["payment_attempts"]]


async def pay(client: httpx.AsyncClient, user: dict[str, str], invoice_id: str) -> httpx.Response:
    return await client.post(f"/v1/invoices/{invoice_id}/pay", headers=user)


class TestOffSessionChargeNeedsAuthentication:
    async def test_finalizing_leaves_it_due_with_the_challenge_to_run(
        self,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        frontend: Frontend,
    ) -> None:
        invoice = await frontend.billed_invoice(admin, ACCOUNT, AUTH_ALWAYS)
        assert invoice["status"] == "payment_due"
        assert invoice["failure_reason"] == "authentication_required"
        assert invoice["next_payment_attempt"] is not None
        action = invoice["next_action"]
        assert action["type"] == "authenticate"
        assert action["payment_intent"].startswith("pi_")
        assert action["client_secret"].startswith(action["payment_intent"])
        assert outcomes(invoice) == [("requires_action", "authentication_required")]
        assert await get_invoice(client, user, invoice["id"]) == invoice
        # Lists show no action (the detail does).
        listed = (await client.get("/v1/invoices", headers=user)).json()["data"]
        assert [(i["id"], i["next_action"]) for i in listed] == [(invoice["id"], None)]

    async def test_paying_answers_402_with_the_same_challenge_and_charges_nothing_new(
        self,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        frontend: Frontend,
    ) -> None:
        invoice = await frontend.billed_invoice(admin, ACCOUNT, AUTH_ALWAYS)
        response = await pay(client, user, invoice["id"])
        assert response.status_code == 402
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert (problem["code"], problem["status"]) == ("authentication_required", 402)
        assert problem["next_action"] == invoice["next_action"]
        assert await get_invoice(client, user, invoice["id"]) == invoice

    async def test_passing_the_challenge_pays_it_once(
        self,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        frontend: Frontend,
    ) -> None:
        invoice = await frontend.billed_invoice(admin, ACCOUNT, AUTH_ALWAYS)
        action = invoice["next_action"]
        challenge = await frontend.authenticate_payment(action)
        assert challenge.status_code == 200, challenge.text
        await frontend.report_payment(action["payment_intent"])
        paid = await get_invoice(client, user, invoice["id"])
        assert (paid["status"], paid["failure_reason"], paid["next_action"]) == ("paid", None, None)
        assert (paid["amount_due"], paid["next_payment_attempt"]) == (0, None)
        assert outcomes(paid) == [("succeeded", None)]
        again = await pay(client, user, invoice["id"])
        assert again.status_code == 409
        assert again.json()["code"] == "invoice_not_payable"

    async def test_failing_the_challenge_is_authentication_failed_and_pay_asks_again(
        self,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        frontend: Frontend,
    ) -> None:
        invoice = await frontend.billed_invoice(admin, ACCOUNT, AUTH_ALWAYS)
        first = invoice["next_action"]
        challenge = await frontend.authenticate_payment(first, success=False)
        assert challenge.status_code == 200, challenge.text
        await frontend.report_payment(first["payment_intent"])
        failed = await get_invoice(client, user, invoice["id"])
        assert (failed["status"], failed["failure_reason"]) == (
            "payment_due",
            "authentication_failed",
        )
        assert failed["next_action"] is None
        assert outcomes(failed) == [("failed", "authentication_failed")]
        # Paying by hand is a new charge, and the bank asks again.
        response = await pay(client, user, invoice["id"])
        assert response.status_code == 402
        second = response.json()["next_action"]
        assert second["payment_intent"] != first["payment_intent"]
        current = await get_invoice(client, user, invoice["id"])
        assert current["next_action"] == second
        assert current["failure_reason"] == "authentication_required"
        assert outcomes(current) == [
            ("failed", "authentication_failed"),
            ("requires_action", "authentication_required"),
        ]
        # The old challenge is over: only the new one can pay.
        stale = await frontend.authenticate_payment(first)
        assert stale.status_code in (400, 409)
        assert (await frontend.authenticate_payment(second)).status_code == 200
        await frontend.report_payment(second["payment_intent"])
        paid = await get_invoice(client, user, invoice["id"])
        assert paid["status"] == "paid"
        assert outcomes(paid)[-1] == ("succeeded", None)

    async def test_a_card_saved_without_a_setup_intent_is_challenged_on_its_charges(
        self, client: httpx.AsyncClient, admin: dict[str, str], user: dict[str, str]
    ) -> None:
        # Stripe attaches such a card without asking the bank; its off-session charges then
        # need the cardholder, since nothing authorized them.
        invoice = await create_billed_invoice(client, admin, user, ACCOUNT, AUTH_ON_SETUP)
        assert invoice["failure_reason"] == "authentication_required"
        assert invoice["next_action"]["type"] == "authenticate"

    async def test_other_declines_carry_no_action(
        self, client: httpx.AsyncClient, admin: dict[str, str], user: dict[str, str]
    ) -> None:
        invoice = await create_billed_invoice(client, admin, user, ACCOUNT, "4000000000000341")
        assert (invoice["failure_reason"], invoice["next_action"]) == ("card_declined", None)
        response = await pay(client, user, invoice["id"])
        assert response.status_code == 402
        assert response.json()["code"] == "card_declined"
        assert "next_action" not in response.json()


@pytest.mark.postgres_only
class TestRaces:
    async def test_the_challenge_racing_pays_and_retries_pays_once(
        self,
        app: Any,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        frontend: Frontend,
        clock: Any,
    ) -> None:
        invoice = await frontend.billed_invoice(admin, ACCOUNT, AUTH_ALWAYS)
        action = invoice["next_action"]
        clock.set(parse_time(invoice["next_payment_attempt"]))
        results = await asyncio.gather(
            frontend.authenticate_payment(action),
            pay(client, user, invoice["id"]),
            pay(client, user, invoice["id"]),
            collect_due(collector(app)),
            return_exceptions=True,
        )
        challenge, first, second, _ = results
        assert isinstance(challenge, httpx.Response)
        assert isinstance(first, httpx.Response)
        assert isinstance(second, httpx.Response)
        assert {first.status_code, second.status_code} <= {200, 402, 409}
        # The retry may have withdrawn the challenge before it was answered: then the
        # invoice waits for the retry's own challenge.
        current = await get_invoice(client, user, invoice["id"])
        if challenge.status_code == 200:
            await frontend.report_payment(action["payment_intent"])
        else:
            assert challenge.status_code in (400, 409)
            retried = await frontend.authenticate_payment(current["next_action"])
            assert retried.status_code == 200
            await frontend.report_payment(current["next_action"]["payment_intent"])
        paid = await get_invoice(client, user, invoice["id"])
        assert paid["status"] == "paid"
        assert [a["outcome"] for a in paid["payment_attempts"]].count("succeeded") == 1


class TestRetries:
    async def test_a_scheduled_retry_replaces_the_challenge_and_ends_not_paid(
        self,
        app: Any,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        frontend: Frontend,
        clock: Any,
    ) -> None:
        invoice = await frontend.billed_invoice(admin, ACCOUNT, AUTH_ALWAYS)
        first = invoice["next_action"]
        clock.set(parse_time(invoice["next_payment_attempt"]))
        report = await collect_due(collector(app))
        assert (report.charged, report.failed) == (1, 1)
        retried = await get_invoice(client, user, invoice["id"])
        assert retried["status"] == "payment_due"
        assert retried["failure_reason"] == "authentication_required"
        second = retried["next_action"]
        assert second["payment_intent"] != first["payment_intent"]
        # The first challenge was withdrawn before the new charge: it can never pay as well.
        assert outcomes(retried) == [
            ("failed", "authentication_required"),
            ("requires_action", "authentication_required"),
        ]
        stale = await frontend.authenticate_payment(first)
        assert stale.status_code in (400, 409)
        for _ in range(2):
            clock.set(
                parse_time((await get_invoice(client, user, invoice["id"]))["next_payment_attempt"])
            )
            await collect_due(collector(app))
        final = await get_invoice(client, user, invoice["id"])
        assert (final["status"], final["next_payment_attempt"]) == ("not_paid", None)
        assert final["attempt_count"] == 4
        # Not paid, yet its last challenge still lets the customer pay.
        assert final["next_action"] is not None
        assert (await frontend.authenticate_payment(final["next_action"])).status_code == 200
        await frontend.report_payment(final["next_action"]["payment_intent"])
        assert (await get_invoice(client, user, invoice["id"]))["status"] == "paid"

    async def test_a_new_primary_card_pays_and_withdraws_the_challenge(
        self,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        frontend: Frontend,
    ) -> None:
        invoice = await frontend.billed_invoice(admin, ACCOUNT, AUTH_ALWAYS)
        first = invoice["next_action"]
        good = await create_card(client, user, "5555555555554444")
        switched = await client.post(f"/v1/cards/{good['id']}/primary", headers=user)
        assert switched.status_code == 200
        paid = await get_invoice(client, user, invoice["id"])
        assert (paid["status"], paid["next_action"]) == ("paid", None)
        assert outcomes(paid) == [("failed", "authentication_required"), ("succeeded", None)]
        assert paid["payment_attempts"][-1]["card_last4"] == "4444"
        stale = await frontend.authenticate_payment(first)
        assert stale.status_code in (400, 409)

    async def test_the_new_primary_retry_can_itself_need_authentication(
        self,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        frontend: Frontend,
    ) -> None:
        invoice = await create_billed_invoice(client, admin, user, ACCOUNT, "4000000000000341")
        strong = await frontend.add_card(AUTH_ALWAYS)
        switched = await client.post(f"/v1/cards/{strong['id']}/primary", headers=user)
        assert switched.status_code == 200
        current = await get_invoice(client, user, invoice["id"])
        assert current["failure_reason"] == "authentication_required"
        assert current["next_action"]["type"] == "authenticate"
        assert outcomes(current)[-1] == ("requires_action", "authentication_required")


class TestVoid:
    async def test_voiding_withdraws_the_challenge(
        self,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        frontend: Frontend,
    ) -> None:
        invoice = await frontend.billed_invoice(admin, ACCOUNT, AUTH_ALWAYS)
        response = await client.post(f"/v1/admin/invoices/{invoice['id']}/void", headers=admin)
        assert response.status_code == 200, response.text
        voided = response.json()
        assert (voided["status"], voided["next_action"]) == ("voided", None)
        assert outcomes(voided) == [("failed", "authentication_required")]
        # The customer's challenge, passed afterwards, can no longer pay a voided invoice.
        stale = await frontend.authenticate_payment(invoice["next_action"])
        assert stale.status_code in (400, 409)
        assert (await get_invoice(client, user, invoice["id"]))["status"] == "voided"

    async def test_a_challenge_passed_before_the_void_wins(
        self,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        frontend: Frontend,
    ) -> None:
        invoice = await frontend.billed_invoice(admin, ACCOUNT, AUTH_ALWAYS)
        # Passed, but (Stripe mode) its webhook has not arrived yet.
        assert (await frontend.authenticate_payment(invoice["next_action"])).status_code == 200
        response = await client.post(f"/v1/admin/invoices/{invoice['id']}/void", headers=admin)
        assert response.status_code == 409
        assert response.json()["code"] == "invoice_not_voidable"
        paid = await get_invoice(client, user, invoice["id"])
        assert (paid["status"], outcomes(paid)) == ("paid", [("succeeded", None)])


@pytest.mark.sandbox_only
class TestAuthenticatedAtSetup:
    # localstripe asks for authentication on every charge of 4000002500003155; Stripe (and
    # the sandbox) only when the card was not saved through an authenticated setup intent.
    async def test_a_card_authenticated_when_saved_is_charged_off_session(
        self,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        frontend: Frontend,
    ) -> None:
        invoice = await frontend.billed_invoice(admin, ACCOUNT, AUTH_ON_SETUP)
        assert (invoice["status"], invoice["next_action"]) == ("paid", None)
        assert outcomes(invoice) == [("succeeded", None)]


@pytest.mark.sandbox_only
class TestSandboxBank:
    async def test_another_accounts_payment_cannot_be_authenticated(
        self,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        auth: Any,
        frontend: Frontend,
    ) -> None:
        invoice = await frontend.billed_invoice(admin, ACCOUNT, AUTH_ALWAYS)
        intent_id = invoice["next_action"]["payment_intent"]
        for path in (
            f"/v1/sandbox/payment-intents/{intent_id}/authenticate",
            "/v1/sandbox/payment-intents/pi_unknown/authenticate",
        ):
            response = await client.post(
                path, headers=auth("acct_intruder"), json={"success": True}
            )
            assert response.status_code == 404
            assert response.json()["code"] == "payment_intent_not_found"
        assert (await get_invoice(client, user, invoice["id"]))["status"] == "payment_due"

    async def test_a_challenge_is_answered_once(
        self,
        client: httpx.AsyncClient,
        admin: dict[str, str],
        user: dict[str, str],
        frontend: Frontend,
    ) -> None:
        invoice = await frontend.billed_invoice(admin, ACCOUNT, AUTH_ALWAYS)
        action = invoice["next_action"]
        assert (await frontend.authenticate_payment(action)).status_code == 200
        again = await frontend.authenticate_payment(action, success=False)
        assert again.status_code == 409
        assert again.json()["code"] == "payment_intent_unexpected_state"
        paid = await get_invoice(client, user, invoice["id"])
        assert (paid["status"], outcomes(paid)) == ("paid", [("succeeded", None)])


class TestOpenApi:
    async def test_the_pay_402_documents_next_action(self, client: httpx.AsyncClient) -> None:
        spec = (await client.get("/openapi.json")).json()
        pay_402 = spec["paths"]["/v1/invoices/{invoice_id}/pay"]["post"]["responses"]["402"]
        assert "authentication_required" in pay_402["description"]
        schema = pay_402["content"]["application/problem+json"]["schema"]
        name = schema["$ref"].rsplit("/", 1)[1]
        members = spec["components"]["schemas"][name]["properties"]
        assert "next_action" in members
        invoice = spec["components"]["schemas"]["Invoice"]["properties"]
        assert "next_action" in invoice
