"""3-D Secure in the sandbox: the portal plays the bank's challenge in a "3D Secure" dialog."""

import pytest
from playwright.async_api import expect

from tests import factories
from tests.browser.portal import add_card, card_item, invoice_row, open_portal
from tests.browser.servers import HostPage

pytestmark = pytest.mark.sandbox_only


async def test_a_card_that_needs_authentication_is_saved_once_authenticated(
    page, host_page: HostPage, api, auth, token, account
):
    portal = await open_portal(page, host_page, token(account))
    dialog = portal.get_by_role("dialog", name="3D Secure")
    await add_card(page, "4000 0025 0000 3155")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_role("button", name="Complete authentication")).to_be_focused()
    await dialog.get_by_role("button", name="Fail authentication").click()
    await expect(dialog).to_be_hidden()
    await expect(
        portal.get_by_role("status").filter(has_text="authentication failed")
    ).to_be_visible()
    assert (await api.get("/v1/cards", headers=auth(account))).json()["data"] == []

    # The form keeps what was typed: Save again, and pass the challenge this time.
    await portal.get_by_role("button", name="Save").first.click()
    await dialog.get_by_role("button", name="Complete authentication").click()
    await expect(card_item(portal, "3155")).to_be_visible()
    await expect(card_item(portal, "3155").get_by_text("Primary", exact=True)).to_be_visible()
    cards = (await api.get("/v1/cards", headers=auth(account))).json()["data"]
    assert [(card["last4"], card["is_primary"]) for card in cards] == [("3155", True)]


async def test_paying_an_invoice_that_needs_authentication(
    page, host_page: HostPage, api, auth, token, account
):
    admin, user = auth(admin=True), auth(account)
    await factories.create_project(api, admin, account)
    await factories.set_billing_details(api, user)
    portal = await open_portal(page, host_page, token(account))
    dialog = portal.get_by_role("dialog", name="3D Secure")
    await add_card(page, "4000002760003184")
    await dialog.get_by_role("button", name="Complete authentication").click()
    await expect(card_item(portal, "3184")).to_be_visible()
    draft = await factories.create_invoice(api, admin, account)
    invoice = await factories.finalize_invoice(api, admin, draft["id"])
    assert invoice["status"] == "payment_due"
    assert invoice["failure_reason"] == "authentication_required"

    await page.reload()
    await portal.get_by_role("tab", name="Invoices").click()
    row = invoice_row(portal, invoice["number"])
    await row.get_by_role("button", name="Pay now").click()
    await dialog.get_by_role("button", name="Fail authentication").click()
    await expect(
        portal.get_by_role("status").filter(has_text=f"Invoice {invoice['number']} is not paid")
    ).to_be_visible()
    await expect(row.get_by_role("cell").nth(4)).to_have_text("Payment due")
    stored = (await api.get(f"/v1/invoices/{invoice['id']}", headers=user)).json()
    assert stored["failure_reason"] == "authentication_failed"

    await row.get_by_role("button", name="Pay now").click()
    await dialog.get_by_role("button", name="Complete authentication").click()
    await expect(
        portal.get_by_role("status").filter(has_text=f"Invoice {invoice['number']} paid.")
    ).to_be_visible()
    await expect(row.get_by_role("cell").nth(4)).to_have_text("Paid")
    stored = (await api.get(f"/v1/invoices/{invoice['id']}", headers=user)).json()
    assert stored["status"] == "paid"
    assert stored["amount_paid"] == stored["total"]
