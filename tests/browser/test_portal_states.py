"""Loading, failures and an expired token: the portal says what is happening and recovers."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Route, expect

from app.core.auth import issue_token
from tests import factories
from tests.browser.portal import card_item
from tests.browser.servers import HostPage

pytestmark = pytest.mark.sandbox_only

SESSION_EXPIRED = "Your session has expired. Sign in again to continue."


async def test_expired_token_says_so_and_a_new_token_resumes(
    page, host_page: HostPage, api, auth, token, settings, account
):
    await factories.create_card(api, auth(account), "4242424242424242")
    expired = issue_token(
        settings, account, now=datetime.now(UTC) - timedelta(hours=2), ttl=timedelta(hours=1)
    )
    await page.goto(host_page.url(token=expired))
    portal = page.locator("billing-portal")
    await expect(portal.get_by_role("alert")).to_have_text(SESSION_EXPIRED)
    # One clear message, not one error per section.
    await expect(portal.get_by_text("could not be loaded")).to_have_count(0)

    # The host page hears of it once, hands the portal a fresh token, and everything loads.
    assert await page.evaluate("() => window.expiredSessions") == 1
    await page.evaluate(
        "token => document.querySelector('billing-portal').setAttribute('token', token)",
        token(account),
    )
    await expect(portal.get_by_role("alert")).to_be_hidden()
    await expect(card_item(portal, "4242")).to_be_visible()

    # The token runs out while the portal is open: the next action says so.
    await page.evaluate(
        "token => document.querySelector('billing-portal').setAttribute('token', token)", expired
    )
    await expect(portal.get_by_role("alert")).to_have_text(SESSION_EXPIRED)
    assert await page.evaluate("() => window.expiredSessions") == 2
    await portal.get_by_role("button", name="Add card").click()
    await portal.get_by_label("Card Number").fill("5555555555554444")
    await portal.get_by_label("Expires").fill("12 / 30")
    await portal.get_by_label("CVC").fill("123")
    await portal.get_by_role("button", name="Save").first.click()
    await expect(portal.get_by_role("alert")).to_have_text(SESSION_EXPIRED)
    await expect(portal.get_by_role("button", name="Save").first).to_be_enabled()
    cards = (await api.get("/v1/cards", headers=auth(account))).json()["data"]
    assert [card["last4"] for card in cards] == ["4242"]


async def test_loading_and_unreachable_service(page, host_page: HostPage, token, account):
    release = asyncio.Event()

    async def slow_cards(route: Route) -> None:
        await release.wait()
        await route.continue_()

    async def unreachable(route: Route) -> None:
        await route.abort("connectionrefused")

    await page.route("**/v1/cards", slow_cards)
    await page.route("**/v1/billing-details", unreachable)
    await page.goto(host_page.url(token=token(account)))
    portal = page.locator("billing-portal")
    await expect(portal.get_by_role("status").filter(has_text="Loading cards…")).to_be_visible()
    await expect(portal.get_by_role("region", name="Payment method")).to_have_attribute(
        "aria-busy", "true"
    )
    release.set()
    await expect(portal.get_by_text("No card yet")).to_be_visible()
    await expect(portal.get_by_role("status").filter(has_text="Loading cards…")).to_have_count(0)

    failure = portal.get_by_role("alert").filter(has_text="Billing details could not be loaded")
    await expect(failure).to_contain_text("could not be reached")
    await expect(portal.get_by_role("form", name="Billing details")).to_be_hidden()
    await page.unroute("**/v1/billing-details")
    await failure.get_by_role("button", name="Retry").click()
    await expect(portal.get_by_role("form", name="Billing details")).to_be_visible()
    await expect(failure).to_have_count(0)
