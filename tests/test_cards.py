"""Cards through the HTTP API: adding, the primary-card rules, removal, isolation."""

import asyncio
from typing import Any

import httpx
import pytest

from tests.factories import create_card, create_payment_method

ACCOUNT = "acct_cards"


async def list_cards(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/v1/cards", headers=headers)
    assert response.status_code == 200
    return list(response.json()["data"])


class TestAddCard:
    # localstripe calls every card a visa; tests/test_stripe_cards.py covers Stripe mode.
    @pytest.mark.sandbox_only
    async def test_first_card_is_primary_second_is_not(self, client, auth):
        headers = auth(ACCOUNT)
        first = await create_card(client, headers)
        second = await create_card(client, headers, "5555555555554444")
        assert first["is_primary"] is True
        assert second["is_primary"] is False
        assert first["id"].startswith("card_")
        assert (first["brand"], first["last4"]) == ("visa", "4242")
        assert (second["brand"], second["last4"]) == ("mastercard", "4444")
        assert set(first) == {
            "id",
            "brand",
            "last4",
            "exp_month",
            "exp_year",
            "is_primary",
            "is_expired",
            "is_expiring_soon",
            "created_at",
        }

    # localstripe knows only pm_card_visa and two declining tokens of Stripe's named tokens.
    @pytest.mark.sandbox_only
    async def test_named_stripe_tokens_work(self, client, auth):
        headers = auth(ACCOUNT)
        response = await client.post(
            "/v1/cards", headers=headers, json={"payment_method": "pm_card_amex"}
        )
        assert response.status_code == 201
        assert response.json()["brand"] == "amex"
        assert response.json()["last4"] == "0005"

    @pytest.mark.parametrize(
        ("number", "code"),
        [
            ("4000000000000002", "card_declined"),
            # localstripe declines every refused card with a plain `card_declined`.
            pytest.param("4000000000000069", "expired_card", marks=pytest.mark.sandbox_only),
            pytest.param("4000000000000127", "incorrect_cvc", marks=pytest.mark.sandbox_only),
        ],
    )
    async def test_declined_cards_answer_402_with_the_decline_code(
        self, client, auth, number, code
    ):
        headers = auth(ACCOUNT)
        payment_method = await create_payment_method(client, headers, number)
        response = await client.post(
            "/v1/cards", headers=headers, json={"payment_method": payment_method}
        )
        assert response.status_code == 402
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code
        assert await list_cards(client, headers) == []

    # localstripe names this token pm_card_visa_chargeDeclined (tests/test_stripe_cards.py).
    @pytest.mark.sandbox_only
    async def test_named_declining_token(self, client, auth):
        response = await client.post(
            "/v1/cards", headers=auth(ACCOUNT), json={"payment_method": "pm_card_chargeDeclined"}
        )
        assert response.status_code == 402
        assert response.json()["code"] == "card_declined"

    async def test_card_that_fails_charges_is_added(self, client, auth):
        card = await create_card(client, auth(ACCOUNT), "4000000000000341")
        assert card["last4"] == "0341"

    async def test_same_card_twice_is_refused(self, client, auth):
        headers = auth(ACCOUNT)
        await create_card(client, headers)
        payment_method = await create_payment_method(
            client, headers, "4242424242424242", exp_year=2031
        )
        response = await client.post(
            "/v1/cards", headers=headers, json={"payment_method": payment_method}
        )
        assert response.status_code == 409
        assert response.json()["code"] == "card_already_added"
        assert len(await list_cards(client, headers)) == 1

    async def test_eleventh_card_is_refused(self, client, auth):
        headers = auth(ACCOUNT)
        numbers = [
            "4242424242424242",
            "5555555555554444",
            # 16-digit numbers only: localstripe refuses any other length.
            "2223003122003222",
            "6011111111111117",
            "6011000990139424",
            "3566002020360505",
            "6200000000000005",
            "4000056655665556",
            "5200828282828210",
            "5105105105105100",
        ]
        for number in numbers:
            await create_card(client, headers, number)
        payment_method = await create_payment_method(client, headers, "4000000000000341")
        response = await client.post(
            "/v1/cards", headers=headers, json={"payment_method": payment_method}
        )
        assert response.status_code == 409
        assert response.json()["code"] == "card_limit_reached"
        assert len(await list_cards(client, headers)) == 10

    async def test_unknown_payment_method_is_404(self, client, auth):
        response = await client.post(
            "/v1/cards", headers=auth(ACCOUNT), json={"payment_method": "pm_doesnotexist"}
        )
        assert response.status_code == 404
        assert response.json()["code"] == "payment_method_not_found"

    async def test_payment_method_of_another_account_cannot_be_reused(self, client, auth):
        payment_method = await create_payment_method(client, auth("acct_a"))
        first = await client.post(
            "/v1/cards", headers=auth("acct_a"), json={"payment_method": payment_method}
        )
        assert first.status_code == 201
        stolen = await client.post(
            "/v1/cards", headers=auth("acct_b"), json={"payment_method": payment_method}
        )
        assert stolen.status_code == 404

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"payment_method": ""},
            {"payment_method": "tok_visa"},
            {"payment_method": "pm_card_visa", "x": 1},
        ],
    )
    async def test_bad_body_is_422(self, client, auth, body):
        response = await client.post("/v1/cards", headers=auth(ACCOUNT), json=body)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
        assert response.json()["errors"]


@pytest.mark.sandbox_only
class TestSandboxPaymentMethods:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (
                {"number": "4242424242424241", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
                "number",
            ),
            (
                {"number": "4242424242424242", "exp_month": 13, "exp_year": 2030, "cvc": "123"},
                "exp_month",
            ),
            (
                {"number": "4242424242424242", "exp_month": 1, "exp_year": 2020, "cvc": "123"},
                "exp_year",
            ),
            (
                {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "1234"},
                "cvc",
            ),
            ({"number": "378282246310005", "exp_month": 12, "exp_year": 2030, "cvc": "123"}, "cvc"),
        ],
    )
    async def test_invalid_cards_are_422_naming_the_field(self, client, auth, body, field):
        response = await client.post(
            "/v1/sandbox/payment-methods", headers=auth(ACCOUNT), json=body
        )
        assert response.status_code == 422
        assert [error["field"] for error in response.json()["errors"]] == [field]

    async def test_returns_only_public_facts(self, client, auth):
        response = await client.post(
            "/v1/sandbox/payment-methods",
            headers=auth(ACCOUNT),
            json={"number": "4242 4242 4242 4242", "exp_month": 4, "exp_year": 31, "cvc": "123"},
        )
        assert response.status_code == 201
        body = response.json()
        assert body["id"].startswith("pm_")
        assert {k: body[k] for k in ("brand", "last4", "exp_month", "exp_year")} == {
            "brand": "visa",
            "last4": "4242",
            "exp_month": 4,
            "exp_year": 2031,
        }
        assert "4242424242424242" not in response.text


class TestPrimaryCard:
    async def test_switching_primary_leaves_exactly_one(self, client, auth):
        headers = auth(ACCOUNT)
        first = await create_card(client, headers)
        second = await create_card(client, headers, "5555555555554444")
        response = await client.post(f"/v1/cards/{second['id']}/primary", headers=headers)
        assert response.status_code == 200
        assert response.json()["is_primary"] is True
        cards = await list_cards(client, headers)
        assert [(c["id"], c["is_primary"]) for c in cards] == [
            (second["id"], True),
            (first["id"], False),
        ]

    async def test_switching_to_the_primary_is_idempotent(self, client, auth):
        headers = auth(ACCOUNT)
        first = await create_card(client, headers)
        for _ in range(2):
            response = await client.post(f"/v1/cards/{first['id']}/primary", headers=headers)
            assert response.status_code == 200
            assert response.json()["is_primary"] is True

    async def test_expired_card_cannot_become_primary(self, client, auth, clock):
        headers = auth(ACCOUNT)
        await create_card(client, headers)
        expiring = await create_card(
            client, headers, "5555555555554444", exp_month=12, exp_year=2026
        )
        from datetime import timedelta

        clock.advance(timedelta(days=40))
        cards = await list_cards(client, headers)
        assert next(c for c in cards if c["id"] == expiring["id"])["is_expired"] is True
        response = await client.post(f"/v1/cards/{expiring['id']}/primary", headers=headers)
        assert response.status_code == 409
        assert response.json()["code"] == "card_expired"

    async def test_list_is_primary_first_then_newest(self, client, auth):
        headers = auth(ACCOUNT)
        first = await create_card(client, headers)
        second = await create_card(client, headers, "5555555555554444")
        third = await create_card(client, headers, "6011111111111117")
        ids = [c["id"] for c in await list_cards(client, headers)]
        assert ids == [first["id"], third["id"], second["id"]]

    async def test_unknown_card_is_404(self, client, auth):
        response = await client.post("/v1/cards/card_nope/primary", headers=auth(ACCOUNT))
        assert response.status_code == 404
        assert response.json()["code"] == "card_not_found"


class TestDeleteCard:
    async def test_non_primary_card_is_removed_at_once(self, client, auth):
        headers = auth(ACCOUNT)
        first = await create_card(client, headers)
        second = await create_card(client, headers, "5555555555554444")
        response = await client.delete(f"/v1/cards/{second['id']}", headers=headers)
        assert response.status_code == 204
        assert response.content == b""
        assert [c["id"] for c in await list_cards(client, headers)] == [first["id"]]

    async def test_primary_card_cannot_be_removed(self, client, auth):
        headers = auth(ACCOUNT)
        first = await create_card(client, headers)
        response = await client.delete(f"/v1/cards/{first['id']}", headers=headers)
        assert response.status_code == 409
        assert response.json()["code"] == "primary_card_cannot_be_deleted"
        assert len(await list_cards(client, headers)) == 1

    async def test_removed_card_can_be_added_again(self, client, auth):
        headers = auth(ACCOUNT)
        await create_card(client, headers)
        second = await create_card(client, headers, "5555555555554444")
        await client.delete(f"/v1/cards/{second['id']}", headers=headers)
        again = await create_card(client, headers, "5555555555554444")
        assert again["is_primary"] is False


class TestIsolation:
    async def test_another_accounts_card_is_not_found(self, client, auth):
        mine = await create_card(client, auth("acct_a"))
        await create_card(client, auth("acct_b"))
        other = auth("acct_b")
        assert (
            await client.post(f"/v1/cards/{mine['id']}/primary", headers=other)
        ).status_code == 404
        assert (await client.delete(f"/v1/cards/{mine['id']}", headers=other)).status_code == 404
        assert mine["id"] not in [c["id"] for c in await list_cards(client, other)]


@pytest.mark.postgres_only
class TestConcurrentPrimaryChanges:
    """The one-primary invariant under concurrent requests, on PostgreSQL's row locks."""

    async def test_concurrent_switches_and_deletes_keep_exactly_one_primary(self, client, auth):
        headers = auth(ACCOUNT)
        cards = [
            await create_card(client, headers, n)
            for n in (
                "4242424242424242",
                "5555555555554444",
                "3566002020360505",
                "6011111111111117",
            )
        ]
        ids = [card["id"] for card in cards]
        for round_ in range(5):
            requests = []
            for index, card_id in enumerate(ids):
                requests.append(client.post(f"/v1/cards/{card_id}/primary", headers=headers))
                if round_ % 2 == 0 and index % 2 == 1:
                    requests.append(client.delete(f"/v1/cards/{card_id}", headers=headers))
            responses = await asyncio.gather(*requests)
            assert {r.status_code for r in responses} <= {200, 204, 404, 409}
            remaining = await list_cards(client, headers)
            assert sum(card["is_primary"] for card in remaining) == 1, remaining
            ids = [card["id"] for card in remaining]
