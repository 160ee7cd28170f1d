"""Each read answers in at most 3 SQL statements, however deep the page (no N+1, no OFFSET)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from tests.factories import (
    create_card,
    create_invoice,
    create_project,
    finalize_invoice,
    set_billing_details,
)

BUDGET = 3
ACCOUNT = "acct_budget"


@contextmanager
def counting(app: Any) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        # BEGIN is the transaction's envelope (SQLite's BEGIN IMMEDIATE), not a query.
        if not statement.lstrip().upper().startswith("BEGIN"):
            statements.append((statement, parameters))

    engine = app.state.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


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
            with counting(app) as statements:
                response = await client.get(path, headers=user, params=params)
            assert response.status_code == 200, (path, response.text)
            assert len(statements) <= BUDGET, (path, statements)

    async def test_lists_never_use_offset(self, app, client, auth, invoices):
        user = auth(ACCOUNT)
        cursor = None
        with counting(app) as statements:
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
