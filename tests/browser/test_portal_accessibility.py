"""Keyboard-only use, axe-core, theming and style isolation; the tabs' screenshots."""

from pathlib import Path

import pytest
from playwright.async_api import expect

from tests import factories
from tests.browser.portal import card_item, focused_name, open_portal, serious_violations, tab_to
from tests.browser.scenarios import invoices_in_every_status
from tests.browser.servers import HostPage

pytestmark = pytest.mark.sandbox_only


async def test_adding_a_card_with_the_keyboard_only(
    page, host_page: HostPage, api, auth, token, account
):
    await factories.create_card(api, auth(account), "5555555555554444")
    portal = await open_portal(page, host_page, token(account))

    await tab_to(page, "Add card")
    await page.keyboard.press("Enter")
    assert await focused_name(page) == "Card Number"
    await page.keyboard.type("4242 4242 4242 4242")
    await page.keyboard.press("Tab")
    assert await focused_name(page) == "Expires"
    await page.keyboard.type("12 / 30")
    await page.keyboard.press("Tab")
    assert await focused_name(page) == "CVC"
    await page.keyboard.type("123")
    await page.keyboard.press("Tab")
    assert await focused_name(page) == "Save"
    await page.keyboard.press("Enter")
    await expect(card_item(portal, "4242")).to_be_visible()
    assert await focused_name(page) == "Add card"

    # The card menu, by keyboard: open, move, choose; focus comes back to the card.
    await tab_to(page, "Card menu")
    await page.keyboard.press("Enter")
    assert await focused_name(page) == "Switch as primary"
    await page.keyboard.press("Escape")
    assert await focused_name(page) == "Card menu"

    # The tabs follow the arrow keys.
    await tab_to(page, "Billing")
    await page.keyboard.press("ArrowRight")
    assert await focused_name(page) == "Invoices"
    await expect(portal.get_by_role("tabpanel", name="Invoices")).to_be_visible()
    await expect(portal.get_by_role("tabpanel", name="Billing")).to_be_hidden()


async def test_no_serious_violations_and_screenshots(
    page, host_page: HostPage, api, auth, token, account, axe_source: str, screenshots: Path
):
    admin, user = auth(admin=True), auth(account)
    await invoices_in_every_status(api, admin, user, account)
    portal = await open_portal(page, host_page, token(account))
    await expect(portal.get_by_role("form", name="Billing details")).to_be_visible()
    await portal.screenshot(path=screenshots / "billing.png")
    assert await serious_violations(page, axe_source) == []

    await portal.get_by_role("button", name="Add card").click()
    await portal.get_by_role("button", name="Save").first.click()
    await expect(portal.get_by_label("Expires")).to_have_attribute("aria-invalid", "true")
    await card_item(portal, "4242").get_by_role("button", name="Card menu").click()
    assert await serious_violations(page, axe_source) == []

    await portal.get_by_role("tab", name="Invoices").click()
    await expect(portal.get_by_role("table", name="Invoices").locator("tbody tr")).to_have_count(5)
    await portal.screenshot(path=screenshots / "invoices.png")
    assert await serious_violations(page, axe_source) == []


async def test_theming_and_no_style_leaks(page, host_page: HostPage, token, account):
    portal = await open_portal(page, host_page, token(account))
    add_card = portal.get_by_role("button", name="Add card")
    heading = portal.get_by_role("heading", name="Payment method")
    color = "el => getComputedStyle(el).color"
    # The host page's `body { color; font-family }` and `button { … }` stop at the portal.
    assert await heading.evaluate(color) == "rgb(50, 50, 77)"
    assert "Georgia" not in await heading.evaluate("el => getComputedStyle(el).fontFamily")
    assert (
        await add_card.evaluate("el => getComputedStyle(el).backgroundColor")
        == "rgb(255, 255, 255)"
    )
    # …and the portal's styles stop at its shadow root.
    host_button = page.get_by_role("button", name="Host page button")
    assert (
        await host_button.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(0, 100, 0)"
    )

    await page.evaluate(
        """() => {
          const portal = document.querySelector('billing-portal');
          portal.style.setProperty('--billing-portal-accent', 'rgb(200, 30, 90)');
          portal.style.setProperty('--billing-portal-text-color', 'rgb(10, 20, 30)');
        }"""
    )
    assert await heading.evaluate(color) == "rgb(10, 20, 30)"
    selected = portal.get_by_role("tab", name="Billing")
    assert await selected.evaluate(color) == "rgb(200, 30, 90)"
