"""Payment method, in the sandbox: cards added, switched, removed, through the portal."""

import pytest
from playwright.async_api import Request, expect

from tests.browser.portal import add_card, card_item, open_portal
from tests.browser.servers import HostPage

pytestmark = pytest.mark.sandbox_only

PRIMARY_NOT_REMOVABLE = "The primary card can't be removed. Switch another card as primary first."


async def test_cards_are_added_switched_and_removed(
    page, host_page: HostPage, api, auth, token, account
):
    mutations: list[Request] = []
    page.on("request", lambda request: request.method != "GET" and mutations.append(request))
    portal = await open_portal(page, host_page, token(account))
    await expect(portal.get_by_text("No card yet")).to_be_visible()

    await add_card(page, "4242 4242 4242 4242")
    await expect(
        portal.get_by_role("status").filter(has_text="Visa ending in 4242 added.")
    ).to_be_visible()
    await add_card(page, "5555555555554444")
    visa, mastercard = card_item(portal, "4242"), card_item(portal, "4444")
    await expect(visa).to_contain_text("Visa")
    await expect(visa.get_by_text("Primary", exact=True)).to_be_visible()
    await expect(mastercard).to_contain_text("Mastercard")
    await expect(mastercard.get_by_text("Primary", exact=True)).to_have_count(0)

    await mastercard.get_by_role("button", name="Card menu").click()
    await mastercard.get_by_role("menuitem", name="Switch as primary").click()
    await expect(mastercard.get_by_text("Primary", exact=True)).to_be_visible()
    await expect(visa.get_by_text("Primary", exact=True)).to_have_count(0)
    cards = (await api.get("/v1/cards", headers=auth(account))).json()["data"]
    assert [(card["last4"], card["is_primary"]) for card in cards] == [
        ("4444", True),
        ("4242", False),
    ]

    # The primary card cannot be removed, and the portal says why.
    await mastercard.get_by_role("button", name="Card menu").click()
    remove_primary = mastercard.get_by_role("menuitem", name="Remove card")
    await expect(remove_primary).to_have_attribute("aria-disabled", "true")
    await expect(remove_primary).to_have_accessible_description(PRIMARY_NOT_REMOVABLE)
    # Disabled items stay focusable (as ARIA menus want): choosing it explains.
    await page.keyboard.press("ArrowDown")
    await expect(remove_primary).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(
        portal.get_by_role("status").filter(has_text=PRIMARY_NOT_REMOVABLE)
    ).to_be_visible()
    await expect(mastercard).to_be_visible()

    await visa.get_by_role("button", name="Card menu").click()
    await visa.get_by_role("menuitem", name="Remove card").click()
    await expect(visa).to_have_count(0)
    await expect(
        portal.get_by_role("status").filter(has_text="Visa ending in 4242 removed.")
    ).to_be_visible()
    cards = (await api.get("/v1/cards", headers=auth(account))).json()["data"]
    assert [card["last4"] for card in cards] == ["4444"]

    # Every mutating request (3 per card added: setup intent, confirm, card; then the switch
    # and the removal) carried its own Idempotency-Key, and CORS let it through.
    keys = [await request.header_value("idempotency-key") for request in mutations]
    assert len(mutations) == 8, [f"{r.method} {r.url}" for r in mutations]
    assert all(keys)
    assert len(set(keys)) == len(keys)


async def test_card_errors_show_beside_their_fields(
    page, host_page: HostPage, api, auth, token, account
):
    portal = await open_portal(page, host_page, token(account))
    await add_card(page, "4242 4242 4242 4241")
    number = portal.get_by_label("Card Number")
    await expect(number).to_have_attribute("aria-invalid", "true")
    await expect(number).to_be_focused()

    await portal.get_by_label("Card Number").fill("4242424242424242")
    await portal.get_by_label("Expires").fill("13 / 30")
    await portal.get_by_role("button", name="Save").first.click()
    expires = portal.get_by_label("Expires")
    await expect(expires).to_have_attribute("aria-invalid", "true")
    await expect(expires).to_have_accessible_description("Enter the expiry date as MM / YY.")
    await expect(number).not_to_have_attribute("aria-invalid", "true")

    await portal.get_by_label("Card Number").fill("4000000000000002")
    await portal.get_by_label("Expires").fill("12/2030")
    await portal.get_by_role("button", name="Save").first.click()
    await expect(portal.get_by_role("status").filter(has_text="declined")).to_be_visible()
    assert (await api.get("/v1/cards", headers=auth(account))).json()["data"] == []

    await portal.get_by_label("Card Number").fill("4242424242424242")
    await portal.get_by_role("button", name="Save").first.click()
    await expect(card_item(portal, "4242")).to_be_visible()
    await expect(portal.get_by_role("button", name="Add card")).to_be_focused()
