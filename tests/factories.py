"""Plain factory functions: each makes one thing through the public HTTP API."""

from datetime import datetime
from typing import Any

import httpx
import stripe

Headers = dict[str, str]

# Under `--provider stripe` (set by the `stripe_client` fixture): payment methods are made at
# the Stripe emulator, as Stripe.js makes them in production. Otherwise by the sandbox's API.
_stripe: stripe.StripeClient | None = None


def make_payment_methods_with(client: stripe.StripeClient | None) -> None:
    global _stripe
    _stripe = client


async def create_payment_method(
    client: httpx.AsyncClient,
    headers: Headers,
    number: str = "4242424242424242",
    *,
    exp_month: int = 12,
    exp_year: int = 2030,
    cvc: str | None = None,
) -> str:
    if cvc is None:
        cvc = "1234" if number.startswith(("34", "37")) else "123"
    if _stripe is not None:
        method = await _stripe.v1.payment_methods.create_async(
            {
                "type": "card",
                "card": {
                    "number": number,
                    "exp_month": exp_month,
                    "exp_year": exp_year,
                    "cvc": cvc,
                },
            }
        )
        return method.id
    response = await client.post(
        "/v1/sandbox/payment-methods",
        headers=headers,
        json={"number": number, "exp_month": exp_month, "exp_year": exp_year, "cvc": cvc},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def create_card(
    client: httpx.AsyncClient,
    headers: Headers,
    number: str = "4242424242424242",
    **card: Any,
) -> dict[str, Any]:
    payment_method = await create_payment_method(client, headers, number, **card)
    response = await client.post(
        "/v1/cards", headers=headers, json={"payment_method": payment_method}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


VALID_BILLING_DETAILS: dict[str, Any] = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "address": {
        "line1": "12 Analytical Row",
        "line2": None,
        "city": "London",
        "postal_code": "N1 9GU",
        "state": None,
        "country": "GB",
    },
    "vat_id": None,
}


async def set_billing_details(
    client: httpx.AsyncClient, headers: Headers, **overrides: Any
) -> dict[str, Any]:
    body = {**VALID_BILLING_DETAILS, **overrides}
    response = await client.put("/v1/billing-details", headers=headers, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def create_project(
    client: httpx.AsyncClient,
    admin: Headers,
    account_id: str,
    project_id: str = "proj_1",
    name: str = "Web shop",
) -> dict[str, Any]:
    response = await client.put(
        f"/v1/admin/accounts/{account_id}/projects/{project_id}", headers=admin, json={"name": name}
    )
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def invoice_body(account_id: str, project_id: str = "proj_1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "account_id": account_id,
        "project_id": project_id,
        "currency": "eur",
        "period_start": "2026-10-01T00:00:00Z",
        "period_end": "2026-11-01T00:00:00Z",
        "lines": [
            {"description": "Compute: 720 vCPU-hours", "quantity": 720, "unit_amount": 2},
            {"description": "Object storage: 50 GB-months", "quantity": 50, "unit_amount": 10},
        ],
    }
    body.update(overrides)
    return body


async def create_invoice(
    client: httpx.AsyncClient,
    admin: Headers,
    account_id: str,
    project_id: str = "proj_1",
    **body: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/v1/admin/invoices", headers=admin, json=invoice_body(account_id, project_id, **body)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def finalize_invoice(
    client: httpx.AsyncClient, admin: Headers, invoice_id: str
) -> dict[str, Any]:
    response = await client.post(f"/v1/admin/invoices/{invoice_id}/finalize", headers=admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def create_billed_invoice(
    client: httpx.AsyncClient,
    admin: Headers,
    user: Headers,
    account_id: str,
    card_number: str | None,
) -> dict[str, Any]:
    """A finalized invoice of an account with a project, billing details and, unless
    `card_number` is None, that card as its primary card (charged at finalization)."""
    await create_project(client, admin, account_id)
    await set_billing_details(client, user)
    if card_number is not None:
        await create_card(client, user, card_number)
    invoice = await create_invoice(client, admin, account_id)
    return await finalize_invoice(client, admin, invoice["id"])


def parse_time(timestamp: str) -> datetime:
    """An API timestamp (RFC 3339, `Z`) as an aware datetime."""
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


async def get_invoice(
    client: httpx.AsyncClient, headers: Headers, invoice_id: str
) -> dict[str, Any]:
    response = await client.get(f"/v1/invoices/{invoice_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())
