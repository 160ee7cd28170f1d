"""HTTP for the portal: its configuration, and its script as static files."""

from importlib.resources import files
from pathlib import Path

import pycountry
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.billing_details.service import STATE_REQUIRED
from app.core.config import ProviderName
from app.core.routing import BillingRouter
from app.core.runtime import SettingsDep
from app.portal.schemas import Country, PortalConfig

router = BillingRouter(prefix="/v1/portal", tags=["portal"])

# Shipped inside the package (see pyproject's package-data), so `pip install` serves them.
STATIC_DIR = Path(str(files("app.portal") / "static"))

COUNTRIES = sorted(
    (
        Country(code=country.alpha_2, name=getattr(country, "common_name", country.name))
        for country in pycountry.countries
    ),
    key=lambda country: country.name,
)


@router.get(
    "/config",
)
async def get_portal_config(settings: SettingsDep) -> PortalConfig:
    """Configuration of the embeddable portal

    Read by `<billing-portal>` (served at `/portal/billing-portal.js`) when it starts. No token
    needed: it holds nothing but public settings.
    """
    stripe = settings.payment_provider is ProviderName.STRIPE
    return PortalConfig(
        provider=settings.payment_provider,
        stripe_publishable_key=settings.stripe_publishable_key if stripe else None,
        stripe_js_url=settings.stripe_js_url if stripe else None,
        countries=COUNTRIES,
        state_required_countries=sorted(STATE_REQUIRED),
    )


def mount_portal(app: FastAPI) -> None:
    app.mount("/portal", StaticFiles(directory=STATIC_DIR), name="portal")
