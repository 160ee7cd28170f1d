"""What the browser tests do with the portal: open it, find things in it, check it."""

from typing import Any

from playwright.async_api import Locator, Page, expect

from tests.browser.servers import HostPage


async def open_portal(page: Page, host: HostPage, token: str, **attributes: str) -> Locator:
    """The host page with `<billing-portal>` on it, once its first screen has loaded."""
    await page.goto(host.url(token=token, **attributes))
    portal = page.locator("billing-portal")
    await expect(portal.get_by_role("heading", name="Payment method")).to_be_visible()
    await expect(portal.get_by_role("status").filter(has_text="Loading")).to_have_count(0)
    return portal


async def add_card(page: Page, number: str, expires: str = "12 / 30", cvc: str = "123") -> None:
    portal = page.locator("billing-portal")
    await portal.get_by_role("button", name="Add card").click()
    await portal.get_by_label("Card Number").fill(number)
    await portal.get_by_label("Expires").fill(expires)
    await portal.get_by_label("CVC").fill(cvc)
    await portal.get_by_role("button", name="Save").first.click()


def card_item(portal: Locator, last4: str) -> Locator:
    return portal.get_by_role("list", name="Cards").get_by_role("listitem").filter(has_text=last4)


def invoice_row(portal: Locator, number: str) -> Locator:
    return portal.get_by_role("row").filter(has_text=number)


async def focused_name(page: Page) -> str:
    """The accessible name of the focused element, looking inside shadow roots."""
    return str(
        await page.evaluate(
            """() => {
              let node = document.activeElement;
              while (node && node.shadowRoot && node.shadowRoot.activeElement) {
                node = node.shadowRoot.activeElement;
              }
              if (!node) return '';
              const labelled = node.getAttribute('aria-label');
              if (labelled) return labelled;
              if (node.labels && node.labels.length) return node.labels[0].innerText.trim();
              return node.innerText.trim();
            }"""
        )
    )


async def tab_to(page: Page, name: str, presses: int = 40) -> None:
    """Press Tab until the element named `name` has the focus, as a keyboard user would."""
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if await focused_name(page) == name:
            return
    raise AssertionError(f"{name!r} is not reachable with Tab")


async def serious_violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page, shadow roots included."""
    if not await page.evaluate("() => Boolean(window.axe)"):
        await page.add_script_tag(content=axe_source)
    result = await page.evaluate("async () => (await axe.run(document)).violations")
    return [
        {"id": item["id"], "impact": item["impact"], "nodes": [n["target"] for n in item["nodes"]]}
        for item in result
        if item["impact"] in ("serious", "critical")
    ]
