"""The OpenAPI document, generated from the code (and committed as openapi/openapi.json)."""

from typing import Any

from app.core.config import Settings
from app.main import create_app


def generate() -> dict[str, Any]:
    # Fixed settings: the document must not depend on the environment it is generated in.
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    return app.openapi()
