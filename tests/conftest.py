"""Test harness: the real app on a real database, migrated by Alembic.

`pytest --db sqlite` (default) or `pytest --db postgresql`. Each pytest process gets its own
database (a temporary SQLite file, or a fresh PostgreSQL database), migrated once; every test
starts from empty tables.
"""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.auth import issue_token
from app.core.config import Settings
from app.core.migrate import upgrade
from app.main import create_app
from app.models import Base
from tests.clock import FrozenClock

TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
POSTGRES_ADMIN_DSN = os.environ.get(
    "BILLING_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgresql"],
        default=os.environ.get("BILLING_TEST_DB", "sqlite"),
        help="database backend for the suite",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--db") == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL row locks (run with --db postgresql)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


def _pg_url(database: str) -> str:
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if backend == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "billing.db"
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = f"billing_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "jwt_secret": TEST_JWT_SECRET,
        "env": "development",
        "payment_provider": "sandbox",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    upgrade(make_settings(database_url))
    return database_url


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings(migrated: str) -> Settings:
    return make_settings(migrated)


async def _empty_tables(database_url: str) -> None:
    engine = create_async_engine(database_url)
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await connection.execute(text(f"DELETE FROM {table}"))
    await engine.dispose()


@pytest.fixture
async def app(settings: Settings, clock: FrozenClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock)
    yield application
    await application.state.runtime.close()
    await _empty_tables(settings.database_url)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def token(settings: Settings):  # type: ignore[no-untyped-def]
    # Real time: PyJWT checks `exp` against the wall clock, not the test clock.
    def make(account_id: str, *, admin: bool = False, ttl: timedelta = timedelta(hours=1)) -> str:
        return issue_token(settings, account_id, now=datetime.now(UTC), ttl=ttl, admin=admin)

    return make


@pytest.fixture
def auth(token):  # type: ignore[no-untyped-def]
    """`auth("acct_1")` → headers for that account; `auth(admin=True)` → the platform."""

    def make(account_id: str = "platform", *, admin: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(account_id, admin=admin)}"}

    return make
