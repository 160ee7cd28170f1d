"""The CSV export of the invoice lists, through the HTTP API."""

import csv
import io
from typing import Any

import httpx
import pytest

from app.invoices import export
from tests.factories import create_invoice, create_project, finalize_invoice, set_billing_details

ACCOUNT = "acct_csv"
Headers = dict[str, str]


@pytest.fixture
def user(auth: Any) -> Headers:
    return dict(auth(ACCOUNT))


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of two rows, so that a handful of invoices crosses several batches."""
    monkeypatch.setattr(export, "BATCH_SIZE", 2)


async def download(
    client: httpx.AsyncClient, headers: Headers, path: str = "/v1/invoices/export.csv", **query: Any
) -> list[dict[str, str]]:
    response = await client.get(path, headers=headers, params=query)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.content.startswith(b"\xef\xbb\xbfnumber,project_id,")
    text = response.content.decode("utf-8-sig")
    assert text.endswith("\r\n")
    return list(csv.DictReader(io.StringIO(text, newline="")))


async def billed(
    client: httpx.AsyncClient, admin: Headers, project_id: str = "proj_1", **body: Any
) -> dict[str, Any]:
    invoice = await create_invoice(client, admin, ACCOUNT, project_id, **body)
    return await finalize_invoice(client, admin, invoice["id"])


async def test_every_invoice_newest_first_across_batches(client, admin, user, small_batches):
    await create_project(client, admin, ACCOUNT, name='Zoë Ωμέγα, "山田"')
    await set_billing_details(client, user)
    invoices = [await billed(client, admin) for _ in range(4)]
    invoices.append(await create_invoice(client, admin, ACCOUNT))  # a draft: no number yet
    rows = await download(client, user)
    assert list(rows[0]) == list(export.COLUMNS)
    listed = (await client.get("/v1/invoices", headers=user, params={"limit": 100})).json()
    assert [row["number"] for row in rows] == [item["number"] or "" for item in listed["data"]]
    assert len(rows) == 5
    first = rows[-1]
    assert first["number"] == invoices[0]["number"]
    assert first["project_id"] == "proj_1"
    assert first["project_name"] == 'Zoë Ωμέγα, "山田"'
    assert first["status"] == invoices[0]["status"]
    assert first["currency"] == "eur"
    assert (first["total"], first["amount_paid"], first["amount_due"]) == ("19.40", "0.00", "19.40")
    assert first["period_start"] == "2026-10-01T00:00:00Z"
    assert first["period_end"] == "2026-11-01T00:00:00Z"
    assert first["created_at"] == invoices[0]["created_at"]
    assert first["finalized_at"] == invoices[0]["finalized_at"]
    assert first["paid_at"] == ""
    assert rows[0]["number"] == ""
    assert rows[0]["finalized_at"] == ""


async def test_amounts_use_each_currencys_minor_units(client, admin, user):
    await create_project(client, admin, ACCOUNT)
    for currency, amount in (("jpy", 1500), ("bhd", 12345)):
        lines = [{"description": "Plan", "quantity": 1, "unit_amount": amount}]
        await create_invoice(client, admin, ACCOUNT, currency=currency, lines=lines)
    rows = await download(client, user)
    assert [(row["currency"], row["total"]) for row in rows] == [("bhd", "12.345"), ("jpy", "1500")]


async def test_the_list_filters_apply(client, admin, user, small_batches):
    await create_project(client, admin, ACCOUNT)
    await create_project(client, admin, ACCOUNT, "proj_2", name="Other")
    await set_billing_details(client, user)
    await billed(client, admin)
    await billed(client, admin, "proj_2")
    await create_invoice(client, admin, ACCOUNT)
    assert len(await download(client, user)) == 3
    assert [row["project_id"] for row in await download(client, user, project_id="proj_2")] == [
        "proj_2"
    ]
    drafts = await download(client, user, status="payment_pending")
    due = await download(client, user, status=["payment_due", "paid"])
    assert len(drafts) + len(due) == 3
    assert await download(client, user, created_lt="2000-01-01T00:00:00Z") == []
    project = await download(client, user, "/v1/projects/proj_1/invoices/export.csv")
    assert {row["project_id"] for row in project} == {"proj_1"}
    assert len(project) == 2


async def test_another_accounts_invoices_are_never_exported(client, admin, user, auth):
    await create_project(client, admin, ACCOUNT)
    await create_invoice(client, admin, ACCOUNT)
    assert await download(client, dict(auth("acct_other"))) == []
    response = await client.get(
        "/v1/projects/proj_1/invoices/export.csv", headers=dict(auth("acct_other"))
    )
    assert response.status_code == 404
    assert response.json()["code"] == "project_not_found"


async def test_bad_filters_are_refused_before_anything_streams(client, user):
    response = await client.get(
        "/v1/invoices/export.csv",
        headers=user,
        params={"created_gte": "2026-01-02T00:00:00Z", "created_lt": "2026-01-01T00:00:00Z"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "created_lt"
    response = await client.get("/v1/invoices/export.csv", headers=user, params={"status": "x"})
    assert response.status_code == 422
    assert (await client.get("/v1/invoices/export.csv")).status_code == 401


async def test_the_file_names_the_download(client, admin, user):
    await create_project(client, admin, ACCOUNT)
    response = await client.get("/v1/projects/proj_1/invoices/export.csv", headers=user)
    assert response.headers["content-disposition"] == 'attachment; filename="invoices-proj_1.csv"'
    response = await client.get("/v1/invoices/export.csv", headers=user)
    assert response.headers["content-disposition"] == 'attachment; filename="invoices.csv"'
