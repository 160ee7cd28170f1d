"""Run the Alembic migrations programmatically (CLI, start-up, tests)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from app.core.config import Settings

_SOURCE_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(settings: Settings) -> Config:
    # Run from the project folder (or the image's /app), alembic.ini sits in the working
    # directory; otherwise use the source tree this module belongs to.
    ini = Path.cwd() / "alembic.ini"
    if not ini.exists():
        ini = _SOURCE_ROOT / "alembic.ini"
    config = Config(str(ini))
    config.set_main_option("script_location", str(ini.parent / "migrations"))
    config.attributes["settings"] = settings
    config.attributes["configure_logging"] = False
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str = "base") -> None:
    command.downgrade(alembic_config(settings), revision)
