"""The database unreachable, or its connections killed: 503 `service_unavailable` with
`Retry-After` on every route, never a 500; the client's connection survives, and the log
has one warning line per request, no traceback."""

import asyncio
import http.client
import logging
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.main import create_app
from tests.conftest import POSTGRES_ADMIN_DSN, make_settings
from tests.factories import VALID_BILLING_DETAILS, invoice_body
from tests.test_api_conventions import assert_problem

CLOSED_PORT_URL = "postgresql+asyncpg://postgres@127.0.0.1:1/billing"


def assert_unavailable(response: httpx.Response) -> None:
    assert_problem(response, 503, "service_unavailable")
    assert int(response.headers["retry-after"]) > 0


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.exc_info or record.exc_text or record.levelno >= logging.ERROR
    ]


@pytest.fixture(params=["postgresql-closed-port", "sqlite-missing-folder"])
def unreachable(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "postgresql-closed-port":
        return make_settings(CLOSED_PORT_URL)
    return make_settings(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'billing.db'}")


@pytest.fixture
async def down(unreachable: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose database cannot be reached; anything unhandled raises."""
    app = create_app(unreachable)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await app.state.runtime.close()


class TestDatabaseUnreachable:
    async def test_an_account_route_on_its_first_request_is_503(self, down, auth, caplog):
        caplog.set_level(logging.WARNING)
        assert_unavailable(await down.get("/v1/cards", headers=auth("acct_1")))
        warnings = [r for r in caplog.records if r.name == "billing.db"]
        assert len(warnings) == 1
        assert "database unavailable" in warnings[0].getMessage()
        assert not tracebacks(caplog)

    async def test_writes_are_503(self, down, auth, caplog):
        caplog.set_level(logging.WARNING)
        response = await down.patch(
            "/v1/billing-details", headers=auth("acct_1"), json={"name": "Ada Lovelace"}
        )
        assert_unavailable(response)
        assert not tracebacks(caplog)

    async def test_a_request_with_an_idempotency_key_is_503(self, down, auth, caplog):
        caplog.set_level(logging.WARNING)
        response = await down.post(
            "/v1/admin/invoices",
            headers={**auth(admin=True), "Idempotency-Key": "outage-1"},
            json=invoice_body("acct_1"),
        )
        assert_unavailable(response)
        assert not tracebacks(caplog)

    async def test_admin_routes_are_503(self, down, auth, caplog):
        caplog.set_level(logging.WARNING)
        admin = auth(admin=True)
        assert_unavailable(await down.get("/v1/admin/events", headers=admin))
        assert_unavailable(
            await down.post("/v1/admin/invoices", headers=admin, json=invoice_body("acct_1"))
        )
        assert not tracebacks(caplog)

    async def test_readiness_is_503_with_retry_after(self, down):
        assert_unavailable(await down.get("/readyz"))

    async def test_liveness_and_input_errors_do_not_need_the_database(self, down, auth):
        assert (await down.get("/healthz")).status_code == 200
        response = await down.post(
            "/v1/cards",
            headers={**auth("acct_1"), "Content-Type": "application/json"},
            content=b"{",
        )
        assert_problem(response, 400, "invalid_json")


@pytest.fixture
def served(unreachable: Settings) -> Iterator[int]:
    """The app behind a real uvicorn, on a loopback port: its keep-alive handling is real."""
    app = create_app(unreachable)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.01)
        assert thread.is_alive(), "uvicorn did not start"
    yield listener.getsockname()[1]
    server.should_exit = True
    thread.join(10)
    listener.close()


def test_errors_keep_the_connection_open(served, auth, caplog):
    caplog.set_level(logging.WARNING)
    connection = http.client.HTTPConnection("127.0.0.1", served, timeout=10)
    user, admin = auth("acct_1"), auth(admin=True)
    requests = [
        (user, "POST", "/v1/cards", b"{", 400),
        (user, "PUT", "/v1/billing-details", b'{"name": "' + b"x" * 70_000 + b'"}', 413),
        (admin, "PUT", "/v1/admin/accounts/a/projects/p", b'{"name": "\\u0000"}', 422),
        (user, "GET", "/v1/cards", None, 503),
        (admin, "GET", "/v1/admin/events", None, 503),
        (user, "GET", "/healthz", None, 200),
    ]
    sockets = set()
    for token, method, path, body, status in requests:
        headers = {**token, "Content-Type": "application/json"}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == status, (path, response.status)
        assert response.getheader("connection") != "close"
        sockets.add(id(connection.sock))
    connection.close()
    assert len(sockets) == 1
    assert not tracebacks(caplog)


async def terminate_backends(database: str) -> int:
    """Kill every connection to `database` but this one, as an operator or a failover would."""
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        return int(
            await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                database,
            )
        )
    finally:
        await admin.close()


@pytest.mark.postgres_only
class TestConnectionsKilled:
    @pytest.fixture
    def database(self, settings: Settings) -> str:
        return str(make_url(settings.database_url).database)

    @pytest.fixture(autouse=True)
    async def _fresh_cleaner(self, cleaner: AsyncEngine) -> AsyncIterator[None]:
        yield
        # The suite's own pooled connections were killed too.
        await cleaner.dispose()

    async def test_the_next_request_is_503_or_served_never_500(
        self, app: FastAPI, client, auth, database, caplog
    ):
        user = auth("acct_1")
        responses = await asyncio.gather(*(client.get("/v1/cards", headers=user) for _ in range(5)))
        assert {response.status_code for response in responses} == {200}
        caplog.set_level(logging.WARNING)
        assert await terminate_backends(database) >= 1
        statuses = []
        for _ in range(3):
            response = await client.get("/v1/cards", headers=user)
            if response.status_code == 503:
                assert_unavailable(response)
            statuses.append(response.status_code)
        # Only a request that meets a dead connection fails: that invalidates the whole
        # pool (every connection older than it), so the next ones reconnect.
        assert statuses[0] in {200, 503}
        assert statuses[1:] == [200, 200], statuses
        response = await client.put("/v1/billing-details", headers=user, json=VALID_BILLING_DETAILS)
        assert response.status_code == 200, response.text
        assert not tracebacks(caplog)

    async def test_connections_killed_during_a_storm_of_requests(
        self, app: FastAPI, client, auth, database, caplog
    ):
        admin = auth(admin=True)
        statuses: list[int] = []

        async def one_client(number: int) -> None:
            user = auth(f"acct_{number % 3}")
            for step in range(12):
                if step % 3 == 0:
                    response = await client.put(
                        f"/v1/admin/accounts/acct_{number % 3}/projects/proj_{step}",
                        headers=admin,
                        json={"name": f"Project {step}"},
                    )
                elif step % 3 == 1:
                    response = await client.put(
                        "/v1/billing-details", headers=user, json=VALID_BILLING_DETAILS
                    )
                else:
                    response = await client.get("/v1/projects", headers=user)
                statuses.append(response.status_code)

        async def killer() -> None:
            for _ in range(4):
                await asyncio.sleep(0.05)
                await terminate_backends(database)

        caplog.set_level(logging.WARNING)
        await asyncio.gather(*(one_client(number) for number in range(8)), killer())
        assert len(statuses) == 8 * 12
        assert set(statuses) <= {200, 201, 503}, sorted(set(statuses))
        # Afterwards the pool recovers: a connection killed after its last use fails the one
        # request that meets it (503, which invalidates the pool), never more.
        after = [
            (await client.get("/v1/projects", headers=auth("acct_1"))).status_code for _ in range(3)
        ]
        assert after[0] in {200, 503}, after
        assert after[1:] == [200, 200], after
        assert not tracebacks(caplog)


class TestOnlyOutagesAre503:
    """Other failures stay bugs: 500 `internal_error`, logged."""

    @pytest.mark.parametrize(
        "error",
        [
            FileNotFoundError("fonts/missing.ttf"),
            ConnectionResetError("a socket that is not the database's"),
            IntegrityError("INSERT", {}, Exception("duplicate key")),
        ],
        ids=["file", "other-socket", "integrity"],
    )
    async def test_an_error_that_is_not_an_outage_is_500(self, app: FastAPI, client, error):
        async def broken() -> None:
            raise error

        app.add_api_route("/v1/broken", broken)
        assert_problem(await client.get("/v1/broken"), 500, "internal_error")


@pytest.mark.postgres_only
class TestReadCancelled:
    async def test_a_read_cancelled_while_it_waits_leaves_no_broken_connection(
        self, client, auth, cleaner: AsyncEngine, settings: Settings
    ):
        """A client that goes away mid-request cancels the read awaiting PostgreSQL: that
        connection must not go back to the pool half-way through its query."""
        user = auth("acct_cancel")
        assert (await client.get("/v1/cards", headers=user)).status_code == 200
        async with cleaner.connect() as locker:
            # The card list's SELECT waits for this lock, so the request is cancelled mid-query.
            await locker.execute(text("LOCK TABLE cards IN ACCESS EXCLUSIVE MODE"))
            waiting = asyncio.create_task(client.get("/v1/cards", headers=user))
            await asyncio.sleep(0.5)
            assert not waiting.done()
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            await locker.rollback()
        # Every connection of the pool in turn (it hands them out oldest first).
        statuses = [
            (await client.get("/v1/cards", headers=user)).status_code
            for _ in range(settings.database_pool_size + 2)
        ]
        assert set(statuses) == {200}, statuses
