"""Input a hostile or careless client sends: a problem+json 4xx, never a 500, on every database.

Each answer comes from the app's own handlers (the `strict` client re-raises anything that
escapes them): the server keeps the connection and logs no traceback.
"""

import base64
import json
import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.factories import create_invoice, create_project, invoice_body
from tests.test_api_conventions import assert_problem

KIB = 1024


@pytest.fixture
async def strict(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client on which anything the app's handlers did not answer raises."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture(autouse=True)
def _no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.WARNING)
    yield
    logged = [record for record in caplog.records if record.exc_info or record.levelno >= 40]
    assert not logged, [record.getMessage() for record in logged]


def field_names(response: httpx.Response) -> set[str]:
    return {error["field"] for error in assert_problem(response, 422, "validation_error")["errors"]}


class TestBodiesThatAreNotJson:
    @pytest.mark.parametrize(
        "content",
        [b'{"payment_method": ', b"payment_method=pm_card_visa", b"\xff\xfe{}", b"{'a': 1}"],
        ids=["truncated", "form", "not-utf8", "python-dict"],
    )
    async def test_an_account_route_answers_400_invalid_json(self, strict, auth, content):
        response = await strict.post(
            "/v1/cards",
            headers={**auth("acct_1"), "Content-Type": "application/json"},
            content=content,
        )
        body = assert_problem(response, 400, "invalid_json")
        assert "errors" not in body

    async def test_an_admin_route_too(self, strict, auth):
        response = await strict.post(
            "/v1/admin/invoices",
            headers={**auth(admin=True), "Content-Type": "application/json"},
            content=b"[1, 2,",
        )
        assert_problem(response, 400, "invalid_json")

    @pytest.mark.parametrize("content_type", ["text/plain", None])
    async def test_a_body_not_sent_as_json_is_400(self, strict, auth, content_type):
        headers = auth("acct_1")
        if content_type:
            headers["Content-Type"] = content_type
        response = await strict.put(
            "/v1/billing-details", headers=headers, content=b'{"name": "Ada"}'
        )
        assert "Content-Type" in assert_problem(response, 400, "invalid_json")["detail"]

    async def test_json_with_wrong_fields_is_still_422(self, strict, auth):
        response = await strict.post("/v1/cards", headers=auth("acct_1"), json={"nope": 1})
        assert "nope" in field_names(response)


class TestBodySizeLimit:
    async def test_a_body_over_64_kib_is_413_from_its_content_length(self, strict, auth):
        name = "x" * (64 * KIB)
        response = await strict.put(
            "/v1/billing-details", headers=auth("acct_1"), json={"name": name}
        )
        body = assert_problem(response, 413, "payload_too_large")
        assert "64 KiB" in body["detail"]

    @pytest.mark.parametrize("idempotency_key", [None, "key-1"])
    async def test_a_streamed_body_is_refused_once_it_passes_64_kib(
        self, strict, auth, idempotency_key
    ):
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"name": "'
            for _ in range(1000):
                yield b"x" * KIB
            yield b'"}'

        headers = {**auth("acct_1"), "Content-Type": "application/json"}
        if idempotency_key:
            # Read first by the idempotency middleware, which hashes bodies.
            headers["Idempotency-Key"] = idempotency_key
        response = await strict.put("/v1/billing-details", headers=headers, content=chunks())
        assert "content-length" not in response.request.headers
        assert_problem(response, 413, "payload_too_large")

    async def test_a_body_just_under_the_limit_is_read(self, strict, auth):
        lines = [{"description": "d" * 400, "quantity": 1, "unit_amount": 1}] * 135
        payload = json.dumps(invoice_body("acct_1", lines=lines)).encode()
        assert 60 * KIB < len(payload) <= 64 * KIB
        response = await strict.post(
            "/v1/admin/invoices",
            headers={**auth(admin=True), "Content-Type": "application/json"},
            content=payload,
        )
        assert_problem(response, 404, "project_not_found")

    async def test_every_operation_with_a_body_documents_400_and_413(self, app):
        for path, operations in app.openapi()["paths"].items():
            for method, operation in operations.items():
                if "requestBody" not in operation:
                    continue
                responses = operation["responses"]
                where = f"{method.upper()} {path}"
                assert "`invalid_json`" in responses["400"]["description"], where
                assert "`payload_too_large`" in responses["413"]["description"], where


CONTROL_CHARACTERS = ["\x00", "\x01", "\n", "\x1f", "\x7f", "\x85"]


class TestTextFields:
    @pytest.mark.parametrize("character", CONTROL_CHARACTERS, ids=repr)
    async def test_a_project_name_with_a_control_character_is_422(self, strict, auth, character):
        response = await strict.put(
            "/v1/admin/accounts/acct_1/projects/proj_1",
            headers=auth(admin=True),
            json={"name": f"Web{character}shop"},
        )
        assert field_names(response) == {"name"}

    async def test_nested_and_listed_text_too(self, strict, auth):
        response = await strict.put(
            "/v1/billing-details",
            headers=auth("acct_1"),
            json={"name": "Ada\x00", "address": {"line1": "12\x00 Row", "country": "DE"}},
        )
        assert field_names(response) == {"name", "address.line1"}
        response = await strict.post(
            "/v1/admin/webhook-endpoints",
            headers=auth(admin=True),
            json={"url": "https://platform.example/\x00", "events": ["invoice.paid\x00"]},
        )
        assert field_names(response) == {"url", "events"}

    async def test_an_invoice_line_with_nul_is_422(self, strict, auth):
        lines = [{"description": "Compute\x00", "quantity": 1, "unit_amount": 1}]
        response = await strict.post(
            "/v1/admin/invoices", headers=auth(admin=True), json=invoice_body("a", lines=lines)
        )
        assert field_names(response) == {"lines.0.description"}

    async def test_a_lone_surrogate_is_422(self, strict, auth):
        response = await strict.put(
            "/v1/admin/accounts/acct_1/projects/proj_1",
            headers={**auth(admin=True), "Content-Type": "application/json"},
            content=b'{"name": "Web \\ud800 shop"}',
        )
        assert field_names(response) == {"name"}

    async def test_plain_text_is_kept(self, strict, auth):
        project = await create_project(strict, auth(admin=True), "acct_1", name="Café, 東京 ✓")
        assert project["name"] == "Café, 東京 ✓"

    @pytest.mark.parametrize(
        ("method", "path", "field"),
        [
            ("DELETE", "/v1/cards/card_%00", "card_id"),
            ("GET", "/v1/invoices/in_%01x", "invoice_id"),
        ],
    )
    async def test_a_path_id_with_a_control_character_is_422(
        self, strict, auth, method, path, field
    ):
        response = await strict.request(method, path, headers=auth("acct_1"))
        assert field_names(response) == {field}

    async def test_an_admin_path_too(self, strict, auth):
        response = await strict.get("/v1/admin/events/evt_%00", headers=auth(admin=True))
        assert field_names(response) == {"event_id"}

    @pytest.mark.parametrize(
        "cursor",
        [["2026-11-25T10:00:00+00:00", "in_\u0000"], ["0001-01-01T00:00:00+01:00", "in_1"]],
        ids=["nul-id", "overflowing-time"],
    )
    async def test_a_forged_cursor_is_422(self, strict, auth, cursor):
        raw = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode()
        response = await strict.get("/v1/invoices", headers=auth("acct_1"), params={"cursor": raw})
        assert field_names(response) == {"cursor"}


class TestDatetimes:
    @pytest.mark.parametrize(
        "params",
        [
            {"created_gte": "0001-01-01T00:00:00+01:00"},
            {"created_lt": "9999-12-31T23:59:59-01:00"},
        ],
        ids=["before-year-1", "after-year-9999"],
    )
    async def test_out_of_range_filters_are_422(self, strict, auth, params):
        response = await strict.get("/v1/invoices", headers=auth("acct_1"), params=params)
        assert field_names(response) == set(params)

    async def test_extreme_but_valid_filters_answer(self, strict, auth):
        params = {"created_gte": "0001-01-01T00:00:00Z", "created_lt": "9999-12-31T23:59:59Z"}
        response = await strict.get("/v1/invoices", headers=auth("acct_1"), params=params)
        assert response.status_code == 200, response.text

    async def test_an_out_of_range_period_is_422(self, strict, auth):
        body = invoice_body("acct_1", period_start="0001-01-01T00:30:00+01:00")
        response = await strict.post("/v1/admin/invoices", headers=auth(admin=True), json=body)
        assert field_names(response) == {"period_start"}


class TestStrictNumbers:
    @pytest.mark.parametrize("quantity", ["5", 2.0, True, 2.5, "2.0"], ids=repr)
    async def test_an_integer_field_takes_only_json_integers(self, strict, auth, quantity):
        lines = [{"description": "Compute", "quantity": quantity, "unit_amount": 1}]
        response = await strict.post(
            "/v1/admin/invoices", headers=auth(admin=True), json=invoice_body("a", lines=lines)
        )
        assert field_names(response) == {"lines.0.quantity"}

    @pytest.mark.parametrize("tax", ["0", 0.0, False], ids=repr)
    async def test_a_top_level_integer_too(self, strict, auth, tax):
        response = await strict.post(
            "/v1/admin/invoices", headers=auth(admin=True), json=invoice_body("a", tax=tax)
        )
        assert field_names(response) == {"tax"}

    @pytest.mark.sandbox_only
    async def test_an_optional_integer_too(self, strict, auth):
        card = {"number": "4242424242424242", "exp_month": "12", "exp_year": 2030, "cvc": "123"}
        response = await strict.post(
            "/v1/sandbox/payment-methods", headers=auth("acct_1"), json=card
        )
        assert field_names(response) == {"exp_month"}

    async def test_integers_are_accepted(self, strict, auth):
        admin = auth(admin=True)
        await create_project(strict, admin, "acct_1")
        invoice = await create_invoice(strict, admin, "acct_1", tax=0)
        assert invoice["lines"][0]["quantity"] == 720

    async def test_query_numbers_stay_strings_by_nature(self, strict, auth):
        response = await strict.get("/v1/invoices", headers=auth("acct_1"), params={"limit": "5"})
        assert response.status_code == 200, response.text


class TestAdminTokensOnAccountRoutes:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/v1/cards"),
            ("GET", "/v1/billing-details"),
            ("GET", "/v1/projects"),
            ("GET", "/v1/invoices"),
            ("POST", "/v1/cards"),
        ],
    )
    async def test_are_403_forbidden(self, strict, auth, method, path):
        response = await strict.request(
            method,
            path,
            headers=auth("platform", admin=True),
            json={} if method == "POST" else None,
        )
        assert "billing:admin" in assert_problem(response, 403, "forbidden")["detail"]

    async def test_no_account_is_made_for_the_platform(self, strict, auth, cleaner):
        await strict.get("/v1/cards", headers=auth("acct_9", admin=True))
        async with cleaner.connect() as connection:
            found = await connection.scalar(
                text("SELECT count(*) FROM accounts WHERE id = 'acct_9'")
            )
        assert found == 0

    async def test_the_same_sub_without_the_scope_is_an_account(self, strict, auth):
        response = await strict.get("/v1/cards", headers=auth("platform"))
        assert response.status_code == 200, response.text
