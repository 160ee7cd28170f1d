"""The invoice PDF through the API: `preferred_locale` on billing details, names in every
script, ISO 4217 currencies and their minor units."""

import io
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from tests.factories import (
    create_invoice,
    create_project,
    finalize_invoice,
    invoice_body,
    set_billing_details,
)

ACCOUNT = "acct_docs"
Headers = dict[str, str]


@pytest.fixture
def user(auth: Any) -> Headers:
    return dict(auth(ACCOUNT))


async def pdf_text(client: httpx.AsyncClient, user: Headers, invoice_id: str) -> str:
    response = await client.get(f"/v1/invoices/{invoice_id}/pdf", headers=user)
    assert response.status_code == 200, response.text
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text.replace("\u00a0", " ").replace("\u202f", " ")


async def billed(client: httpx.AsyncClient, admin: Headers, **body: Any) -> dict[str, Any]:
    invoice = await create_invoice(client, admin, ACCOUNT, **body)
    return await finalize_invoice(client, admin, invoice["id"])


class TestPreferredLocale:
    async def test_defaults_to_english_and_can_be_set_and_cleared(self, client, user):
        assert (await set_billing_details(client, user))["preferred_locale"] == "en"
        body = await set_billing_details(client, user, preferred_locale="fr")
        assert body["preferred_locale"] == "fr"
        patched = await client.patch(
            "/v1/billing-details", headers=user, json={"preferred_locale": "zh_CN"}
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["preferred_locale"] == "zh-CN"
        assert patched.json()["name"] == body["name"]
        cleared = await client.patch(
            "/v1/billing-details", headers=user, json={"preferred_locale": None}
        )
        assert cleared.json()["preferred_locale"] == "en"

    @pytest.mark.parametrize("tag", ["xx-YY", "english", "", "fr-FR-x-!!", 5])
    async def test_unknown_locales_are_refused_and_change_nothing(self, client, user, tag):
        before = await set_billing_details(client, user, preferred_locale="de")
        response = await client.patch(
            "/v1/billing-details", headers=user, json={"preferred_locale": tag}
        )
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "validation_error"
        assert [error["field"] for error in problem["errors"]] == ["preferred_locale"]
        after = await client.get("/v1/billing-details", headers=user)
        assert after.json() == before

    async def test_the_pdf_speaks_the_accounts_locale(self, client, admin, user):
        await create_project(client, admin, ACCOUNT)
        await set_billing_details(client, user, name="Zoë Ωμέγα 山田", preferred_locale="fr")
        invoice = await billed(client, admin)
        assert invoice["billing_details"]["preferred_locale"] == "fr"
        text = await pdf_text(client, user, invoice["id"])
        assert "Zoë Ωμέγα 山田" in text
        assert "Facture" in text
        assert "19,40 €" in text
        assert "1–31 oct. 2026" in text
        assert "Royaume-Uni" in text

    async def test_a_project_override_brings_its_own_locale(self, client, admin, user):
        await create_project(client, admin, ACCOUNT)
        await set_billing_details(client, user, preferred_locale="de")
        override = await client.put(
            "/v1/projects/proj_1/billing-details",
            headers=user,
            json={
                "name": "王小明",
                "email": "wang@example.cn",
                "address": {
                    "line1": "建国路 88 号",
                    "city": "北京",
                    "postal_code": "100022",
                    "country": "CN",
                },
                "preferred_locale": "zh-CN",
            },
        )
        assert override.status_code == 200, override.text
        assert override.json()["preferred_locale"] == "zh-CN"
        text = await pdf_text(client, user, (await billed(client, admin, currency="cny"))["id"])
        assert "王小明" in text
        assert "北京" in text
        assert "发票" in text
        assert "¥19.40" in text
        assert "2026年10月1日至31日" in text

    async def test_the_locale_is_frozen_into_the_invoice(self, client, admin, user):
        await create_project(client, admin, ACCOUNT)
        await set_billing_details(client, user, preferred_locale="es")
        invoice = await billed(client, admin)
        await set_billing_details(client, user, preferred_locale="de")
        assert "Factura" in await pdf_text(client, user, invoice["id"])


class TestCurrencies:
    @pytest.mark.parametrize("currency", ["xxx", "xts", "xau", "abc", "EUR"])
    async def test_codes_that_are_no_currency_in_use_are_refused(self, client, admin, currency):
        await create_project(client, admin, ACCOUNT)
        response = await client.post(
            "/v1/admin/invoices", headers=admin, json=invoice_body(ACCOUNT, currency=currency)
        )
        assert response.status_code == 422, response.text
        assert [error["field"] for error in response.json()["errors"]] == ["currency"]

    @pytest.mark.parametrize(
        ("currency", "unit_amount", "expected"),
        [("bhd", 12345, "BHD12.345"), ("jpy", 1500, "¥1,500"), ("usd", 1999, "$19.99")],
    )
    async def test_amounts_print_with_the_currencys_minor_units(
        self, client, admin, user, currency, unit_amount, expected
    ):
        await create_project(client, admin, ACCOUNT)
        await set_billing_details(client, user)
        lines = [{"description": "Plan", "quantity": 1, "unit_amount": unit_amount}]
        invoice = await billed(client, admin, currency=currency, lines=lines)
        assert invoice["total"] == unit_amount
        assert expected in await pdf_text(client, user, invoice["id"])


@pytest.mark.parametrize(
    ("name", "city"),
    [
        ("Łódź Spółka", "Łódź"),
        ("Иван Петров", "Москва"),
        ("שרה כהן", "ירושלים"),
        ("شركة النور", "دبي"),
        ("김민준", "서울"),
        ("株式会社サンプル", "東京"),
    ],
)
async def test_customer_names_print_exactly(client, admin, user, name, city):
    await create_project(client, admin, ACCOUNT)
    address = {"line1": "1 Main St", "city": city, "postal_code": "12345", "country": "GB"}
    await set_billing_details(client, user, name=name, address=address)
    text = await pdf_text(client, user, (await billed(client, admin))["id"])
    assert name in text
    assert city in text
