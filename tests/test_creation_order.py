"""Newest first holds within one second: created_at keeps its microseconds, in the database
and on the wire (RFC 3339 with a fraction when there is one)."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from app.core.config import Settings
from app.main import create_app
from tests.factories import create_invoice, create_project, finalize_invoice, set_billing_details

SECOND = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


class SubSecondClock:
    """Every reading a microsecond after the last, all within one second."""

    def __init__(self) -> None:
        self._now = SECOND

    def now(self) -> datetime:
        self._now += timedelta(microseconds=1)
        return self._now


async def serve(app: FastAPI):  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def same_second(settings: Settings):  # type: ignore[no-untyped-def]
    app = create_app(settings, SubSecondClock())
    async with await serve(app) as client:
        yield client
    await app.state.runtime.close()


@pytest.fixture
async def wall_clock(settings: Settings):  # type: ignore[no-untyped-def]
    app = create_app(settings)
    async with await serve(app) as client:
        yield client
    await app.state.runtime.close()


async def make_invoices(client: httpx.AsyncClient, admin: dict[str, str], count: int) -> list[str]:
    """`count` drafts of acct_1's project, in the order made."""
    await create_project(client, admin, "acct_1")
    return [(await create_invoice(client, admin, "acct_1"))["id"] for _ in range(count)]


async def test_invoices_made_in_one_second_list_newest_first(same_second, auth):
    made = await make_invoices(same_second, auth(admin=True), 6)
    page = (await same_second.get("/v1/invoices", headers=auth("acct_1"))).json()
    assert [invoice["id"] for invoice in page["data"]] == made[::-1]
    shown = [invoice["created_at"] for invoice in page["data"]]
    # One second, told apart by the fraction: 2026-11-25T10:00:00.000007Z, ...
    assert all(moment.startswith("2026-11-25T10:00:00.") for moment in shown)
    assert shown == sorted(set(shown), reverse=True)


async def test_pages_split_within_one_second_lose_and_repeat_nothing(same_second, auth):
    made = await make_invoices(same_second, auth(admin=True), 5)
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 2}
    while True:
        page = (await same_second.get("/v1/invoices", headers=auth("acct_1"), params=params)).json()
        seen += [invoice["id"] for invoice in page["data"]]
        if not page["has_more"]:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == made[::-1]


async def test_finalized_numbers_follow_the_listed_order(same_second, auth):
    admin, user = auth(admin=True), auth("acct_1")
    await create_project(same_second, admin, "acct_1")
    await set_billing_details(same_second, user)
    for _ in range(3):
        invoice = await create_invoice(same_second, admin, "acct_1")
        await finalize_invoice(same_second, admin, invoice["id"])
    page = (await same_second.get("/v1/invoices", headers=user)).json()
    numbers = [invoice["number"] for invoice in page["data"]]
    assert numbers == sorted(numbers, reverse=True)


async def test_the_system_clock_keeps_creation_order(wall_clock, auth):
    made = await make_invoices(wall_clock, auth(admin=True), 8)
    page = (await wall_clock.get("/v1/invoices", headers=auth("acct_1"))).json()
    assert [invoice["id"] for invoice in page["data"]] == made[::-1]
    shown = [datetime.fromisoformat(invoice["created_at"]) for invoice in page["data"]]
    assert shown == sorted(shown, reverse=True)
    assert len(set(shown)) == len(shown)
