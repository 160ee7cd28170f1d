"""Each read answers in at most 3 SQL statements, however deep the page (no N+1, no OFFSET)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlalchemy import event, select
from sqlalchemy.orm import selectinload

from app.cards.schemas import Card, CardList
from app.core.pagination import paginate
from app.invoices.schemas import Invoice, InvoiceList
from app.models import Card as CardModel
from app.models import Invoice as InvoiceModel
from tests.factories import (
    create_card,
    create_invoice,
    create_project,
    finalize_invoice,
    set_billing_details,
)

BUDGET = 3
ACCOUNT = "acct_budget"


@asynccontextmanager
async def counting(app: Any) -> AsyncIterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        # BEGIN is the transaction's envelope (SQLite's BEGIN IMMEDIATE), not a query.
        if not statement.lstrip().upper().startswith("BEGIN"):
            statements.append((statement, parameters))

    # On PostgreSQL the hot reads run on asyncpg itself (app/core/reads.py), past SQLAlchemy's
    # events: asyncpg's query logger sees those, on every connection checked out meanwhile.
    # (It calls its loggers soon after the query, not during it: see the exit below.)
    def logged(query: Any) -> None:
        statements.append((query.query, query.args))

    watched: list[Any] = []

    def watch(dbapi_connection: Any, *_args: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if driver is not None and hasattr(driver, "add_query_logger"):
            driver.add_query_logger(logged)
            watched.append(driver)

    engine = app.state.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine.pool, "checkout", watch)
    try:
        yield statements
        await asyncio.sleep(0)  # the query loggers' calls, scheduled by asyncpg, run now
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine.pool, "checkout", watch)
        for driver in watched:
            driver.remove_query_logger(logged)


@pytest.fixture
async def invoices(client: Any, auth: Any) -> list[dict[str, Any]]:
    admin, user = auth(admin=True), auth(ACCOUNT)
    await create_project(client, admin, ACCOUNT)
    await set_billing_details(client, user)
    await create_card(client, user)
    created = [await create_invoice(client, admin, ACCOUNT) for _ in range(45)]
    await finalize_invoice(client, admin, created[0]["id"])
    return created


class TestQueryBudget:
    async def test_reads_stay_within_budget(self, app, client, auth, invoices):
        user = auth(ACCOUNT)
        first = (await client.get("/v1/invoices", headers=user, params={"limit": 20})).json()
        paid_id = invoices[0]["id"]
        paths: list[tuple[str, dict[str, Any]]] = [
            ("/v1/invoices", {"limit": 20}),
            ("/v1/invoices", {"limit": 20, "cursor": first["next_cursor"]}),
            ("/v1/invoices", {"status": ["paid", "payment_due"], "project_id": "proj_1"}),
            ("/v1/projects/proj_1/invoices", {"limit": 5}),
            (f"/v1/invoices/{paid_id}", {}),
            (f"/v1/invoices/{paid_id}/pdf", {}),
            ("/v1/cards", {}),
            ("/v1/projects", {}),
            ("/v1/billing-details", {}),
        ]
        for path, params in paths:
            async with counting(app) as statements:
                response = await client.get(path, headers=user, params=params)
            assert response.status_code == 200, (path, response.text)
            assert len(statements) <= BUDGET, (path, statements)

    async def test_lists_never_use_offset(self, app, client, auth, invoices):
        user = auth(ACCOUNT)
        cursor = None
        async with counting(app) as statements:
            for _ in range(3):
                params = {"limit": 20, **({"cursor": cursor} if cursor else {})}
                cursor = (await client.get("/v1/invoices", headers=user, params=params)).json()[
                    "next_cursor"
                ]
        assert statements
        for statement, parameters in statements:
            # SQLite's dialect always writes "LIMIT ? OFFSET ?"; the offset bound must be 0.
            if "OFFSET" in statement.upper():
                assert list(parameters)[-1] == 0, statement


class TestHotReads:
    """The list, the invoice, the cards: statements once the account is known, and bodies
    byte for byte what FastAPI wrote when it validated and serialized the schemas itself."""

    async def test_a_known_accounts_reads_are_one_statement_each(self, app, client, auth, invoices):
        user = auth(ACCOUNT)
        first = (await client.get("/v1/invoices", headers=user, params={"limit": 20})).json()
        reads = [
            ("/v1/invoices", {"limit": 20}, 1),
            ("/v1/invoices", {"limit": 20, "cursor": first["next_cursor"]}, 1),
            ("/v1/invoices", {"status": ["payment_pending"], "project_id": "proj_1"}, 1),
            ("/v1/cards", {}, 1),
            # The invoice, its lines and its attempts: one UNION ALL.
            (f"/v1/invoices/{invoices[0]['id']}", {}, 1),
        ]
        for path, params, expected in reads:
            async with counting(app) as statements:
                response = await client.get(path, headers=user, params=params)
            assert response.status_code == 200, response.text
            assert len(statements) == expected, (path, statements)

    async def test_bodies_are_what_the_schemas_write(self, app, client, auth, invoices):
        user = auth(ACCOUNT)
        invoice_id = invoices[0]["id"]
        responses = {
            "list": await client.get("/v1/invoices", headers=user, params={"limit": 20}),
            "invoice": await client.get(f"/v1/invoices/{invoice_id}", headers=user),
            "cards": await client.get("/v1/cards", headers=user),
        }
        async with app.state.runtime.sessionmaker() as session:
            rows = (
                await session.scalars(
                    select(InvoiceModel)
                    .where(InvoiceModel.account_id == ACCOUNT)
                    .order_by(InvoiceModel.created_at.desc(), InvoiceModel.id.desc())
                    .limit(21)
                )
            ).all()
            detail = await session.scalar(
                select(InvoiceModel)
                .where(InvoiceModel.id == invoice_id)
                .options(
                    selectinload(InvoiceModel.lines), selectinload(InvoiceModel.payment_attempts)
                )
            )
            cards = (
                await session.scalars(select(CardModel).where(CardModel.account_id == ACCOUNT))
            ).all()
        assert detail is not None
        assert detail.lines
        assert detail.payment_attempts
        page, has_more, next_cursor = paginate(rows, 20)
        now = app.state.runtime.clock.now()
        expected = {
            "list": InvoiceList.model_validate(
                {"data": page, "has_more": has_more, "next_cursor": next_cursor},
                from_attributes=True,
            ),
            "invoice": Invoice.build(detail),
            "cards": CardList(
                data=[Card.build(card, now) for card in cards], has_more=False, next_cursor=None
            ),
        }
        for name, response in responses.items():
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/json"
            # What FastAPI's serializer wrote from the response model before.
            model = expected[name]
            assert response.content == TypeAdapter(type(model)).dump_json(model, by_alias=True)
