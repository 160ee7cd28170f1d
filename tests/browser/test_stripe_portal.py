"""The portal in Stripe mode, against localstripe and its stand-in Stripe.js.

Cards are saved through setup intents confirmed by Stripe.js (`confirmCardSetup`); charges
that need authentication run `confirmCardPayment`. localstripe's Stripe.js plays the bank
with a box of its own on the host page ("Complete authentication" / "Fail authentication").
"""

import pytest
from playwright.async_api import Locator, Page, expect

from tests import factories
from tests.browser.portal import card_item, invoice_row, open_portal
from tests.browser.servers import HostPage

pytestmark = pytest.mark.stripe_only


async def save_stripe_card(page: Page, number: str) -> None:
    """Type the card into Stripe's card element (localstripe's: one input per part)."""
    portal = page.locator("billing-portal")
    if await portal.get_by_role("button", name="Add card").is_visible():
        await portal.get_by_role("button", name="Add card").click()
    element = portal.get_by_role("group", name="Card")
    await element.get_by_placeholder("number").fill(number)
    await element.get_by_placeholder("exp_month").fill("12")
    await element.get_by_placeholder("exp_year").fill("30")
    await element.get_by_placeholder("cvc").fill("123")
    await element.get_by_placeholder("postal_code").fill("10115")
    await portal.get_by_role("button", name="Save").first.click()


def bank(page: Page, answer: str) -> Locator:
    return page.get_by_role("button", name=answer)


async def test_adding_a_card_with_3d_secure(page, host_page: HostPage, api, auth, token, account):
    portal = await open_portal(page, host_page, token(account))
    await save_stripe_card(page, "4000002760003184")
    await bank(page, "Fail authentication").click()
    await expect(
        portal.get_by_role("status").filter(has_text="authentication failed")
    ).to_be_visible()
    assert (await api.get("/v1/cards", headers=auth(account))).json()["data"] == []

    await save_stripe_card(page, "4000002760003184")
    await bank(page, "Complete authentication").click()
    await expect(card_item(portal, "3184")).to_be_visible()
    cards = (await api.get("/v1/cards", headers=auth(account))).json()["data"]
    assert [(card["last4"], card["is_primary"]) for card in cards] == [("3184", True)]


async def test_paying_with_3d_secure(page, host_page: HostPage, api, auth, token, account):
    admin, user = auth(admin=True), auth(account)
    await factories.create_project(api, admin, account)
    await factories.set_billing_details(api, user)
    portal = await open_portal(page, host_page, token(account))
    await save_stripe_card(page, "4000002760003184")
    await bank(page, "Complete authentication").click()
    await expect(card_item(portal, "3184")).to_be_visible()
    draft = await factories.create_invoice(api, admin, account)
    invoice = await factories.finalize_invoice(api, admin, draft["id"])
    assert invoice["status"] == "payment_due"

    await page.reload()
    await portal.get_by_role("tab", name="Invoices").click()
    row = invoice_row(portal, invoice["number"])
    await row.get_by_role("button", name="Pay now").click()
    await bank(page, "Complete authentication").click()
    await expect(
        portal.get_by_role("status").filter(has_text=f"Invoice {invoice['number']} paid.")
    ).to_be_visible()
    await expect(row.get_by_role("cell").nth(4)).to_have_text("Paid")
    stored = (await api.get(f"/v1/invoices/{invoice['id']}", headers=user)).json()
    assert stored["status"] == "paid"
