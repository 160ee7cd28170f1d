"""Accounts set up through the HTTP API, for the portal to show."""

from typing import Any

import httpx

from tests import factories

Headers = dict[str, str]


async def finalized(
    api: httpx.AsyncClient, admin: Headers, account: str, project: str
) -> dict[str, Any]:
    draft = await factories.create_invoice(api, admin, account, project)
    return await factories.finalize_invoice(api, admin, draft["id"])


async def admin_call(
    api: httpx.AsyncClient, admin: Headers, invoice: dict[str, Any], action: str
) -> None:
    response = await api.post(f"/v1/admin/invoices/{invoice['id']}/{action}", headers=admin)
    assert response.status_code == 200, response.text


async def invoices_in_every_status(
    api: httpx.AsyncClient, admin: Headers, user: Headers, account: str
) -> dict[str, dict[str, Any]]:
    """One invoice per status over two projects; the card left primary declines every charge."""
    await factories.create_project(api, admin, account, "proj_web", "Web shop")
    await factories.create_project(api, admin, account, "proj_data", "Data pipeline")
    await factories.set_billing_details(api, user)
    await factories.create_card(api, user, "4242424242424242")
    paid = await finalized(api, admin, account, "proj_web")
    declining = await factories.create_card(api, user, "4000000000000341")
    response = await api.post(f"/v1/cards/{declining['id']}/primary", headers=user)
    assert response.status_code == 200, response.text
    due = await finalized(api, admin, account, "proj_data")
    not_paid = await finalized(api, admin, account, "proj_web")
    await admin_call(api, admin, not_paid, "mark-uncollectible")
    voided = await finalized(api, admin, account, "proj_data")
    await admin_call(api, admin, voided, "void")
    pending = await factories.create_invoice(api, admin, account, "proj_web")
    return {"paid": paid, "due": due, "not_paid": not_paid, "voided": voided, "pending": pending}
