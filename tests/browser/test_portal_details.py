"""Billing details through the portal: mandatory fields marked, the API's errors beside them."""

import pytest
from playwright.async_api import expect

from tests.browser.portal import open_portal
from tests.browser.servers import HostPage

pytestmark = pytest.mark.sandbox_only

MANDATORY = ("Name", "Email", "Address line 1", "City", "Postal code", "Country")
OPTIONAL = ("Address line 2", "VAT number")


async def test_billing_details_show_field_errors_then_save(
    page, host_page: HostPage, api, auth, token, account
):
    portal = await open_portal(page, host_page, token(account))
    form = portal.get_by_role("form", name="Billing details")
    for label in MANDATORY:
        await expect(form.get_by_label(label, exact=True)).to_have_attribute(
            "aria-required", "true"
        )
    for label in (*OPTIONAL, "State"):
        await expect(form.get_by_label(label, exact=True)).not_to_have_attribute(
            "aria-required", "true"
        )

    await form.get_by_label("Name", exact=True).fill("Ada Lovelace")
    await form.get_by_label("Email", exact=True).fill("ada@@example")
    await form.get_by_label("Address line 1", exact=True).fill("1 Main Street")
    await form.get_by_label("Postal code", exact=True).fill("94105")
    await form.get_by_label("Country", exact=True).select_option("US")
    # A US address needs a state: the form marks it as soon as the country is chosen.
    await expect(form.get_by_label("State", exact=True)).to_have_attribute("aria-required", "true")
    await form.get_by_role("button", name="Save").click()

    for label in ("Email", "City", "State"):
        field = form.get_by_label(label, exact=True)
        await expect(field).to_have_attribute("aria-invalid", "true")
        await expect(field).not_to_have_accessible_description("")
    await expect(form.get_by_label("Name", exact=True)).not_to_have_attribute(
        "aria-invalid", "true"
    )
    await expect(form.get_by_role("status")).to_have_text("Check the highlighted fields.")
    assert (await api.get("/v1/billing-details", headers=auth(account))).json()["name"] is None

    await form.get_by_label("Email", exact=True).fill("ada@example.com")
    await form.get_by_label("City", exact=True).fill("San Francisco")
    await form.get_by_label("State", exact=True).fill("CA")
    await form.get_by_label("VAT number", exact=True).fill("")
    await form.get_by_role("button", name="Save").click()
    await expect(form.get_by_role("status")).to_have_text("Billing details saved.")
    await expect(form.locator("[aria-invalid=true]")).to_have_count(0)

    saved = (await api.get("/v1/billing-details", headers=auth(account))).json()
    assert saved["is_complete"] is True
    assert saved["email"] == "ada@example.com"
    assert saved["address"] == {
        "line1": "1 Main Street",
        "line2": None,
        "city": "San Francisco",
        "postal_code": "94105",
        "state": "CA",
        "country": "US",
    }

    # Shown again as saved when the portal is opened anew.
    await page.reload()
    await expect(form.get_by_label("City", exact=True)).to_have_value("San Francisco")
    await expect(form.get_by_label("Country", exact=True)).to_have_value("US")
