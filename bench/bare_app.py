"""The baseline for the list benchmark: FastAPI and asyncpg, nothing else.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/billing_bench \
        uvicorn bench.bare_app:app --port 8001

`GET /v1/invoices?limit=20[&cursor=…]` with the account in `X-Account-Id` runs the very SQL
text the service's repository sends (same columns, same casts, same keyset condition, LIMIT
limit + 1) on an asyncpg pool the size of the service's, and answers the same JSON body:
plain dicts, formatted by hand, serialised by FastAPI's JSONResponse. No JWT, no ORM, no
Pydantic models, no transaction, no middleware: what is left is the floor any implementation
of the endpoint stands on. It imports nothing from `app`, so its memory is the floor too.

The pool skips asyncpg's reset on release (`SELECT pg_advisory_unlock_all(); CLOSE ALL;
UNLISTEN *; RESET ALL`): the endpoint changes no session state, so a request is exactly one
round trip to the database, the least any implementation can do.
"""

import base64
import binascii
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse

# The service's default pool: database_pool_size=10 plus as many overflow connections.
POOL_SIZE = 10
POOL_MAX = 20

_COLUMNS = (
    "invoices.id, invoices.account_id, invoices.project_id, invoices.project_name, "
    "invoices.number, invoices.status, invoices.currency, invoices.subtotal, invoices.tax, "
    "invoices.total, invoices.amount_paid, invoices.period_start, invoices.period_end, "
    "invoices.created_at, invoices.finalized_at, invoices.due_date, invoices.paid_at, "
    "invoices.voided_at, invoices.attempt_count, invoices.retries_made, "
    "invoices.next_payment_attempt, invoices.failure_reason, invoices.billing_snapshot"
)
# Character for character what SQLAlchemy renders for app.invoices.repository.list_page.
FIRST_PAGE = (
    f"SELECT {_COLUMNS} \nFROM invoices \nWHERE invoices.account_id = $1::VARCHAR "
    "ORDER BY invoices.created_at DESC, invoices.id DESC \n LIMIT $2::INTEGER"
)
NEXT_PAGE = (
    f"SELECT {_COLUMNS} \nFROM invoices \nWHERE invoices.account_id = $1::VARCHAR AND "
    "(invoices.created_at, invoices.id) < ($2::TIMESTAMP WITH TIME ZONE, $3::VARCHAR) "
    "ORDER BY invoices.created_at DESC, invoices.id DESC \n LIMIT $4::INTEGER"
)

STATUS_LABELS = {
    "payment_pending": "Payment pending",
    "paid": "Paid",
    "payment_due": "Payment due",
    "not_paid": "Not paid",
    "voided": "Voided",
}


def _time(value: datetime | None) -> str | None:
    # The service's format: RFC 3339 in UTC with "Z", fractions only when stored.
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _summary(row: asyncpg.Record) -> dict[str, Any]:
    snapshot = row["billing_snapshot"]
    finalized = row["finalized_at"] is not None
    return {
        "id": row["id"],
        "number": row["number"],
        "account_id": row["account_id"],
        "project_id": row["project_id"],
        "project_name": row["project_name"],
        "status": row["status"],
        "status_label": STATUS_LABELS[row["status"]],
        "currency": row["currency"],
        "subtotal": row["subtotal"],
        "tax": row["tax"],
        "total": row["total"],
        "amount_paid": row["amount_paid"],
        "amount_due": row["total"] - row["amount_paid"],
        "period_start": _time(row["period_start"]),
        "period_end": _time(row["period_end"]),
        "created_at": _time(row["created_at"]),
        "finalized_at": _time(row["finalized_at"]),
        "due_date": _time(row["due_date"]),
        "paid_at": _time(row["paid_at"]),
        "voided_at": _time(row["voided_at"]),
        "attempt_count": row["attempt_count"],
        "next_payment_attempt": _time(row["next_payment_attempt"]),
        "failure_reason": row["failure_reason"],
        "billing_details": None if snapshot is None else json.loads(snapshot),
        "pdf_url": f"/v1/invoices/{row['id']}/pdf" if finalized else None,
    }


def _encode_cursor(created_at: datetime, id_: str) -> str:
    raw = json.dumps([created_at.isoformat(), id_], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(value: str) -> tuple[datetime, str]:
    try:
        padded = value + "=" * (-len(value) % 4)
        created_at, id_ = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(created_at), str(id_)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise HTTPException(400, "bad cursor") from exc


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """Nothing to undo: the endpoint sets no session state and holds no transaction."""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    dsn = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/billing_bench")
    app.state.pool = await asyncpg.create_pool(
        dsn, min_size=POOL_SIZE, max_size=POOL_MAX, reset=_keep_session
    )
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/v1/invoices")
async def list_invoices(
    request: Request,
    account_id: Annotated[str, Header(alias="X-Account-Id")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> JSONResponse:
    pool: asyncpg.Pool = request.app.state.pool
    if cursor is None:
        rows = await pool.fetch(FIRST_PAGE, account_id, limit + 1)
    else:
        created_at, id_ = _decode_cursor(cursor)
        rows = await pool.fetch(NEXT_PAGE, account_id, created_at, id_, limit + 1)
    page = rows[:limit]
    has_more = len(rows) > limit
    last = page[-1] if has_more else None
    return JSONResponse(
        {
            "data": [_summary(row) for row in page],
            "has_more": has_more,
            "next_cursor": None if last is None else _encode_cursor(last["created_at"], last["id"]),
        }
    )
