"""The OpenAPI document, generated from the code (and committed as openapi/openapi.json)."""

from typing import Any

from app.core.config import ProviderName, Settings
from app.main import create_app, provider_routers


def generate() -> dict[str, Any]:
    # Fixed settings: the document must not depend on the environment it is generated in.
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    # One document for either provider: Stripe mode's own routes are described too (each
    # says which mode serves it).
    for router in provider_routers(ProviderName.STRIPE):
        app.include_router(router)
    return app.openapi()
