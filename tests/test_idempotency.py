"""`Idempotency-Key` through the HTTP API: a repeat is answered with the first response and
does nothing else; another request under the key is refused; a 5xx is not kept; keys are per
caller and kept 24 hours."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.idempotency.errors import IdempotencyKeyInUse
from app.idempotency.service import ABANDONED_AFTER, KEPT_FOR, IdempotencyStore
from app.main import create_app
from app.models import IdempotencyKey
from app.payments.errors import PaymentProviderUnavailable
from app.sandbox.provider import SandboxProvider
from tests.clock import FrozenClock
from tests.factories import create_payment_method, create_project, invoice_body
from tests.stripe_server import client_for, free_port

ACCOUNT = "acct_idem"
OTHER = "acct_idem_other"


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def drafts(client: httpx.AsyncClient, user: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/v1/invoices", headers=user, params={"limit": 100})
    assert response.status_code == 200
    return list(response.json()["data"])


async def cards(client: httpx.AsyncClient, user: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/v1/cards", headers=user)
    assert response.status_code == 200
    return list(response.json()["data"])


@pytest.fixture
def user(auth: Any) -> dict[str, str]:
    return dict(auth(ACCOUNT))


@pytest.fixture
async def project(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    await create_project(client, admin, ACCOUNT)


async def create_invoice(
    client: httpx.AsyncClient, admin: dict[str, str], key: str, **body: Any
) -> httpx.Response:
    return await client.post(
        "/v1/admin/invoices", headers=keyed(admin, key), json=invoice_body(ACCOUNT, **body)
    )


async def add_card(
    client: httpx.AsyncClient, user: dict[str, str], key: str, payment_method: str
) -> httpx.Response:
    return await client.post(
        "/v1/cards", headers=keyed(user, key), json={"payment_method": payment_method}
    )


@pytest.mark.usefixtures("project")
class TestReplay:
    async def test_the_platform_creating_an_invoice_twice_with_one_key_gets_one_draft(
        self, client, admin, user
    ):
        first = await create_invoice(client, admin, "invoice-2026-10")
        again = await create_invoice(client, admin, "invoice-2026-10")
        assert first.status_code == again.status_code == 201
        assert again.content == first.content  # byte for byte
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert again.headers["content-type"] == first.headers["content-type"]
        # The replay is a request of its own.
        assert again.headers["X-Request-ID"] != first.headers["X-Request-ID"]
        assert len(await drafts(client, user)) == 1

    async def test_a_card_added_twice_with_one_key_is_one_card(self, client, user):
        payment_method = await create_payment_method(client, user)
        first = await add_card(client, user, "add-my-card", payment_method)
        again = await add_card(client, user, "add-my-card", payment_method)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert [card["id"] for card in await cards(client, user)] == [first.json()["id"]]

    async def test_an_error_is_kept_and_replayed_too(self, client, user):
        first = await client.delete("/v1/cards/card_missing", headers=keyed(user, "remove-it"))
        again = await client.delete("/v1/cards/card_missing", headers=keyed(user, "remove-it"))
        assert first.status_code == again.status_code == 404
        assert again.content == first.content
        assert again.headers["Idempotent-Replayed"] == "true"

    async def test_a_declined_card_is_declined_once(self, client, user):
        payment_method = await create_payment_method(client, user, "4000000000000002")
        first = await add_card(client, user, "declined", payment_method)
        again = await add_card(client, user, "declined", payment_method)
        assert first.status_code == again.status_code == 402
        assert again.content == first.content
        assert again.headers["Idempotent-Replayed"] == "true"

    async def test_without_a_key_every_request_runs(self, client, admin, user):
        for _ in range(2):
            response = await client.post(
                "/v1/admin/invoices", headers=admin, json=invoice_body(ACCOUNT)
            )
            assert response.status_code == 201
            assert "Idempotent-Replayed" not in response.headers
        assert len(await drafts(client, user)) == 2

    async def test_reads_ignore_the_key(self, client, user):
        for _ in range(2):
            response = await client.get("/v1/cards", headers=keyed(user, "read"))
            assert response.status_code == 200
            assert "Idempotent-Replayed" not in response.headers


@pytest.mark.usefixtures("project")
class TestAnotherRequestUnderTheKey:
    async def test_same_key_different_body_is_422_idempotency_key_reused(self, client, admin, user):
        assert (await create_invoice(client, admin, "k1")).status_code == 201
        other = await create_invoice(client, admin, "k1", currency="usd")
        assert other.status_code == 422
        assert other.headers["content-type"] == "application/problem+json"
        assert other.json()["code"] == "idempotency_key_reused"
        assert len(await drafts(client, user)) == 1

    async def test_same_key_other_path_or_method_is_422(self, client, admin, user):
        created = await create_invoice(client, admin, "k2")
        invoice_id = created.json()["id"]
        finalize = await client.post(
            f"/v1/admin/invoices/{invoice_id}/finalize", headers=keyed(admin, "k2")
        )
        assert finalize.status_code == 422
        assert finalize.json()["code"] == "idempotency_key_reused"
        assert (await drafts(client, user))[0]["number"] is None  # still a draft

    async def test_same_key_other_query_is_422(self, client, user):
        path = "/v1/cards/card_missing"
        assert (await client.delete(path, headers=keyed(user, "k3"))).status_code == 404
        other = await client.delete(path, headers=keyed(user, "k3"), params={"x": "1"})
        assert other.json()["code"] == "idempotency_key_reused"

    @pytest.mark.parametrize(
        "key",
        ["", "x" * 256, "caf\u00e9".encode(), b"bell\x07", b"tab\there"],
        ids=["empty", "too-long", "non-ascii", "control", "tab"],
    )
    async def test_a_malformed_key_is_a_422_validation_problem(self, client, admin, user, key):
        response = await client.post(
            "/v1/admin/invoices",
            headers={**admin, "Idempotency-Key": key},
            json=invoice_body(ACCOUNT),
        )
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
        assert response.json()["errors"][0]["field"] == "Idempotency-Key"
        assert await drafts(client, user) == []

    async def test_the_longest_key_is_taken(self, client, admin):
        key = "~" * 255
        assert (await create_invoice(client, admin, key)).status_code == 201
        assert (await create_invoice(client, admin, key)).headers["Idempotent-Replayed"] == "true"

    async def test_without_a_valid_token_the_route_answers_401(self, client):
        response = await client.post(
            "/v1/cards", headers={"Idempotency-Key": "k"}, json={"payment_method": "pm_x"}
        )
        assert response.status_code == 401
        bad = {"Authorization": "Bearer nope", "Idempotency-Key": "k"}
        assert (await client.post("/v1/cards/setup-intents", headers=bad)).status_code == 401


class TestScope:
    async def test_keys_are_per_caller(self, client, auth):
        mine = await client.post("/v1/cards/setup-intents", headers=keyed(auth(ACCOUNT), "same"))
        theirs = await client.post("/v1/cards/setup-intents", headers=keyed(auth(OTHER), "same"))
        assert mine.status_code == theirs.status_code == 201
        assert "Idempotent-Replayed" not in theirs.headers
        assert mine.json()["id"] != theirs.json()["id"]

    async def test_the_platform_and_an_account_named_platform_are_different_callers(
        self, client, auth
    ):
        await create_project(client, auth(admin=True), ACCOUNT)
        platform = await create_invoice(client, auth(admin=True), "shared")
        account = await client.post(
            "/v1/cards/setup-intents", headers=keyed(auth("platform"), "shared")
        )
        assert platform.status_code == account.status_code == 201

    @pytest.mark.usefixtures("project")
    async def test_a_key_is_kept_24_hours(self, client, admin, user, clock):
        first = await create_invoice(client, admin, "daily")
        clock.advance(timedelta(hours=23))
        assert (await create_invoice(client, admin, "daily")).content == first.content
        clock.advance(timedelta(hours=1))
        after = await create_invoice(client, admin, "daily", currency="usd")
        assert after.status_code == 201
        assert "Idempotent-Replayed" not in after.headers
        assert len(await drafts(client, user)) == 2
        # The key's new use is the one kept now.
        again = await create_invoice(client, admin, "daily", currency="usd")
        assert again.content == after.content


class _Flaky:
    """The sandbox provider, once unavailable: the first card attach answers 503."""

    def __init__(self, inner: SandboxProvider, failures: list[bool]) -> None:
        self._inner = inner
        self._failures = failures

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def attach_payment_method(self, customer_id: str, payment_method_id: str) -> Any:
        if not self._failures:
            self._failures.append(True)
            raise PaymentProviderUnavailable("The payment provider timed out.")
        return await self._inner.attach_payment_method(customer_id, payment_method_id)


class _Held:
    """The sandbox provider, whose first card attach waits until the test lets it go."""

    def __init__(self, inner: SandboxProvider, entered: asyncio.Event, go: asyncio.Event) -> None:
        self._inner = inner
        self._entered = entered
        self._go = go

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def attach_payment_method(self, customer_id: str, payment_method_id: str) -> Any:
        if not self._entered.is_set():
            self._entered.set()
            await self._go.wait()
        return await self._inner.attach_payment_method(customer_id, payment_method_id)


async def _client_of(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.mark.sandbox_only
class TestFailures:
    async def test_a_5xx_is_not_kept_and_the_retry_runs(self, settings, clock, auth):
        failures: list[bool] = []

        def flaky(session: Any) -> Any:
            return _Flaky(SandboxProvider(session, settings=settings, clock=clock), failures)

        app = create_app(settings, clock, flaky)
        user = auth(ACCOUNT)
        try:
            async with await _client_of(app) as client:
                payment_method = await create_payment_method(client, user)
                failed = await add_card(client, user, "retry-me", payment_method)
                assert failed.status_code == 503
                retried = await add_card(client, user, "retry-me", payment_method)
                assert retried.status_code == 201
                assert "Idempotent-Replayed" not in retried.headers
                replayed = await add_card(client, user, "retry-me", payment_method)
                assert replayed.content == retried.content
                assert replayed.headers["Idempotent-Replayed"] == "true"
                assert len(await cards(client, user)) == 1
        finally:
            await app.state.runtime.close()

    async def test_an_unexpected_error_is_not_kept(self, app, client, user):
        payment_method = await create_payment_method(client, user)
        original = app.state.runtime.providers

        def broken(_session: Any) -> Any:
            raise RuntimeError("a bug")

        app.state.runtime.providers = broken
        failed = await add_card(client, user, "after-a-bug", payment_method)
        assert failed.status_code == 500
        app.state.runtime.providers = original
        retried = await add_card(client, user, "after-a-bug", payment_method)
        assert retried.status_code == 201
        assert "Idempotent-Replayed" not in retried.headers


@pytest.mark.sandbox_only
@pytest.mark.postgres_only
class TestConcurrency:
    async def test_a_repeat_while_the_first_runs_is_409_in_use(self, settings, clock, auth):
        entered, go = asyncio.Event(), asyncio.Event()

        def held(session: Any) -> Any:
            return _Held(SandboxProvider(session, settings=settings, clock=clock), entered, go)

        app = create_app(settings, clock, held)
        user = auth(ACCOUNT)
        try:
            async with await _client_of(app) as client:
                payment_method = await create_payment_method(client, user)
                first = asyncio.create_task(add_card(client, user, "slow", payment_method))
                await entered.wait()
                second = await add_card(client, user, "slow", payment_method)
                assert second.status_code == 409
                assert second.json()["code"] == "idempotency_key_in_use"
                go.set()
                assert (await first).status_code == 201
                replay = await add_card(client, user, "slow", payment_method)
                assert replay.headers["Idempotent-Replayed"] == "true"
                assert len(await cards(client, user)) == 1
        finally:
            go.set()
            await app.state.runtime.close()

    @pytest.mark.usefixtures("project")
    async def test_concurrent_requests_with_one_key_have_one_effect(self, client, admin, user):
        responses = await asyncio.gather(
            *(create_invoice(client, admin, "storm") for _ in range(10))
        )
        statuses = sorted(response.status_code for response in responses)
        assert set(statuses) <= {201, 409}
        created = [response for response in responses if response.status_code == 201]
        assert len({response.content for response in created}) == 1
        for response in responses:
            if response.status_code == 409:
                assert response.json()["code"] == "idempotency_key_in_use"
        assert len(await drafts(client, user)) == 1


class TestAcrossInstances:
    @pytest.mark.usefixtures("project")
    async def test_a_key_is_shared_by_every_replica(self, settings, client, admin, user):
        first = await create_invoice(client, admin, "replicas")
        other = create_app(settings, FrozenClock())
        try:
            async with await _client_of(other) as replica:
                again = await create_invoice(replica, admin, "replicas")
        finally:
            await other.state.runtime.close()
        assert again.content == first.content
        assert again.headers["Idempotent-Replayed"] == "true"
        assert len(await drafts(client, user)) == 1


class TestStore:
    async def test_a_key_left_in_progress_by_a_dead_process_is_free_again(self, app, clock):
        store = IdempotencyStore(app.state.runtime.sessionmaker, clock)
        assert await store.begin("account:a", "k", "request") is None
        with pytest.raises(IdempotencyKeyInUse):
            await store.begin("account:a", "k", "request")
        clock.advance(ABANDONED_AFTER)
        assert await store.begin("account:a", "k", "request") is None

    async def test_an_unreachable_database_is_503_not_500(self, settings, clock, auth):
        gone = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/billing"
        async with client_for(settings.model_copy(update={"database_url": gone}), clock) as http:
            response = await http.post(
                "/v1/cards/setup-intents", headers=keyed(auth(ACCOUNT), "no-database")
            )
        assert response.status_code == 503
        assert response.json()["code"] == "service_unavailable"
        assert int(response.headers["Retry-After"]) >= 1

    async def test_expired_keys_are_purged(self, app, clock, cleaner):
        store = IdempotencyStore(app.state.runtime.sessionmaker, clock)
        for key in ("old-1", "old-2"):
            assert await store.begin("account:a", key, "request") is None
        clock.advance(KEPT_FOR)
        # A process purges every caller's expired keys when it starts, then now and then.
        fresh = IdempotencyStore(app.state.runtime.sessionmaker, clock)
        assert await fresh.begin("account:b", "new", "request") is None
        async with cleaner.connect() as connection:
            keys = (await connection.execute(select(IdempotencyKey.key))).scalars().all()
        assert keys == ["new"]
