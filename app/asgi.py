"""The ASGI entry point for servers: `uvicorn app.asgi:app`."""

from app.core.config import SettingsError, get_settings
from app.core.logging import configure_logging
from app.main import create_app

try:
    _settings = get_settings()
except SettingsError as exc:
    # A one-line reason instead of a traceback from deep inside the server's import.
    raise SystemExit(f"billing: {exc}") from None

configure_logging(_settings.log_level)
app = create_app(_settings)
