"""The Alembic migrations: reversible, and exactly the schema the models describe."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.migrate import downgrade, upgrade
from app.models import Base
from tests.conftest import POSTGRES_ADMIN_DSN, _pg_url, make_settings


@pytest.fixture
async def fresh_database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the backend under test, apart from the suite's own."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"billing_migrations_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


class TestMigrations:
    async def test_upgrade_downgrade_upgrade_matches_the_models(self, fresh_database):
        settings = make_settings(fresh_database)
        # Alembic's env runs its own event loop, so it gets a thread of its own.
        await asyncio.to_thread(upgrade, settings)
        await asyncio.to_thread(downgrade, settings, "base")
        engine = create_async_engine(fresh_database)
        try:
            async with engine.connect() as connection:
                assert await connection.run_sync(_tables) == set()
            await asyncio.to_thread(upgrade, settings)
            async with engine.connect() as connection:
                assert await connection.run_sync(_tables) == set(Base.metadata.tables)
                assert await connection.run_sync(_differences) == []
        finally:
            await engine.dispose()
