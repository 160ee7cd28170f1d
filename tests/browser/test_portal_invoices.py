"""Invoices through the portal: statuses, project filter, PDF download, Pay now, Load more."""

import pytest
from playwright.async_api import Page, expect

from tests import factories
from tests.browser.portal import invoice_row, open_portal
from tests.browser.scenarios import invoices_in_every_status
from tests.browser.servers import HostPage

pytestmark = pytest.mark.sandbox_only


async def rows_text(page: Page) -> list[str]:
    rows = page.locator("billing-portal").get_by_role("table", name="Invoices").locator("tbody tr")
    return [" ".join(text.split()) for text in await rows.all_inner_texts()]


async def test_invoices_table_filter_download_and_pay(
    page, host_page: HostPage, api, auth, token, account
):
    admin, user = auth(admin=True), auth(account)
    invoices = await invoices_in_every_status(api, admin, user, account)
    portal = await open_portal(page, host_page, token(account))
    await portal.get_by_role("tab", name="Invoices").click()
    table = portal.get_by_role("table", name="Invoices")
    await expect(table.get_by_role("row")).to_have_count(6)
    await expect(table.get_by_role("columnheader")).to_have_text(
        ["Number", "Project", "Date", "Amount", "Status", "Actions"]
    )
    expected = {
        "paid": "Paid",
        "due": "Payment due",
        "not_paid": "Not paid",
        "voided": "Voided",
        "pending": "Payment pending",
    }
    for key, label in expected.items():
        invoice = invoices[key]
        row = table.locator(f"tr[data-invoice-id='{invoice['id']}']")
        await expect(row.get_by_role("cell").nth(4)).to_have_text(label)
        await expect(row.get_by_role("cell").nth(1)).to_have_text(invoice["project_name"])
        await expect(row.get_by_role("cell").nth(3)).to_have_text("€19.40")
        pay_now = row.get_by_role("button", name="Pay now")
        await expect(pay_now).to_have_count(1 if key in ("due", "not_paid") else 0)
        download = row.get_by_role("link", name=f"Download invoice {invoice['number']}")
        await expect(download).to_have_count(0 if key == "pending" else 1)

    # The project filter.
    await portal.get_by_label("Project").select_option(label="Data pipeline")
    await expect(table.get_by_role("row")).to_have_count(3)
    assert {text.split(" ")[1] for text in await rows_text(page)} == {"Data"}
    await portal.get_by_label("Project").select_option(label="All projects")
    await expect(table.get_by_role("row")).to_have_count(6)

    # The PDF, fetched with the token and saved under the invoice's number.
    number = invoices["paid"]["number"]
    async with page.expect_download() as download_info:
        await table.get_by_role("link", name=f"Download invoice {number}").click()
    download = await download_info.value
    assert download.suggested_filename == f"{number}.pdf"
    assert (await download.path()).read_bytes().startswith(b"%PDF")

    # Pay now with the declining primary card: the decline is shown, nothing changes.
    due_row = invoice_row(portal, invoices["due"]["number"])
    await due_row.get_by_role("button", name="Pay now").click()
    await expect(
        portal.get_by_role("status").filter(
            has_text=f"Invoice {invoices['due']['number']} is not paid"
        )
    ).to_be_visible()
    await expect(due_row.get_by_role("cell").nth(4)).to_have_text("Payment due")

    # A working card made primary pays what is due (the service's rule); Not paid waits for Pay now.
    card = await factories.create_card(api, user, "5555555555554444")
    assert (await api.post(f"/v1/cards/{card['id']}/primary", headers=user)).status_code == 200
    not_paid_row = invoice_row(portal, invoices["not_paid"]["number"])
    await not_paid_row.get_by_role("button", name="Pay now").click()
    await expect(
        portal.get_by_role("status").filter(
            has_text=f"Invoice {invoices['not_paid']['number']} paid."
        )
    ).to_be_visible()
    await expect(not_paid_row.get_by_role("cell").nth(4)).to_have_text("Paid")
    await expect(not_paid_row.get_by_role("button", name="Pay now")).to_have_count(0)
    stored = (await api.get(f"/v1/invoices/{invoices['not_paid']['id']}", headers=user)).json()
    assert stored["status"] == "paid"


async def test_load_more_and_one_project(page, host_page: HostPage, api, auth, token, account):
    admin = auth(admin=True)
    await factories.create_project(api, admin, account, "proj_web", "Web shop")
    await factories.create_project(api, admin, account, "proj_data", "Data pipeline")
    for project in ("proj_web", "proj_data", "proj_web", "proj_data", "proj_web"):
        await factories.create_invoice(api, admin, account, project)

    portal = await open_portal(page, host_page, token(account), **{"page-size": "2"})
    await portal.get_by_role("tab", name="Invoices").click()
    table = portal.get_by_role("table", name="Invoices")
    load_more = portal.get_by_role("button", name="Load more")
    await expect(table.locator("tbody tr")).to_have_count(2)
    await load_more.click()
    await expect(table.locator("tbody tr")).to_have_count(4)
    await load_more.click()
    await expect(table.locator("tbody tr")).to_have_count(5)
    await expect(load_more).to_be_hidden()

    # Embedded in a project's settings: that project's invoices only, no project filter.
    portal = await open_portal(page, host_page, token(account), project="proj_data")
    await portal.get_by_role("tab", name="Invoices").click()
    await expect(table.locator("tbody tr")).to_have_count(2)
    assert {text.split(" ")[1] for text in await rows_text(page)} == {"Data"}
    await expect(portal.get_by_label("Project")).to_be_hidden()
