"""The benchmark's baseline: FastAPI and asyncpg, nothing else.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/billing_bench \
        uvicorn bench.bare_app:app --port 8001

The service's hot paths, with the account in `X-Account-Id` instead of a JWT, each one SQL
statement (the card switch: one short transaction) on an asyncpg pool the size of the
service's, answering the same JSON body: plain dicts, formatted by hand, serialised by
FastAPI's JSONResponse. No JWT, no ORM, no Pydantic models, no middleware: what is left is the
floor any implementation of these endpoints stands on. It imports nothing from `app`, so its
memory is the floor too.

- `GET /v1/invoices?limit=20[&cursor=…]`: the same keyset query as the service (same index,
  same condition, LIMIT limit + 1);
- `GET /v1/invoices/{id}`: the invoice with its lines and attempts aggregated in its SELECT;
- `GET /v1/cards`: the account's cards, primary first, then newest;
- `POST /v1/cards/{id}/primary`: under the account's row lock, the old primary cleared and
  the new one set, in one transaction.

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
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse

# The service's default pool: database_pool_size=10, no overflow.
POOL_SIZE = 10
POOL_MAX = 10

_COLUMNS = (
    "id, account_id, project_id, project_name, number, status, currency, subtotal, tax, total, "
    "amount_paid, period_start, period_end, created_at, finalized_at, due_date, paid_at, "
    "voided_at, attempt_count, next_payment_attempt, failure_reason, billing_snapshot"
)
_ORDER = " ORDER BY created_at DESC, id DESC LIMIT $"
FIRST_PAGE = f"SELECT {_COLUMNS} FROM invoices WHERE account_id = $1{_ORDER}2"
NEXT_PAGE = (
    f"SELECT {_COLUMNS} FROM invoices WHERE account_id = $1 "
    f"AND (created_at, id) < ($2::timestamptz, $3::varchar){_ORDER}4"
)
DETAIL = (
    f"SELECT {_COLUMNS}, "
    "(SELECT coalesce(json_agg(json_build_object('description', description, 'quantity', "
    "quantity, 'unit_amount', unit_amount, 'amount', amount) ORDER BY position), '[]') "
    "FROM invoice_lines WHERE invoice_id = invoices.id) AS lines, "
    "(SELECT coalesce(json_agg(json_build_object('attempted_at', attempted_at, 'card_last4', "
    "card_last4, 'outcome', outcome, 'decline_code', decline_code) ORDER BY id), '[]') "
    "FROM payment_attempts WHERE invoice_id = invoices.id) AS attempts "
    "FROM invoices WHERE account_id = $1 AND id = $2"
)
CARD_COLUMNS = "id, brand, last4, exp_month, exp_year, is_primary, created_at"
CARDS = (
    f"SELECT {CARD_COLUMNS} FROM cards WHERE account_id = $1 "
    "ORDER BY is_primary DESC, created_at DESC, id DESC"
)
LOCK_ACCOUNT = "SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE"
CARD = f"SELECT {CARD_COLUMNS} FROM cards WHERE account_id = $1 AND id = $2"
CLEAR_PRIMARY = (
    "UPDATE cards SET is_primary = false WHERE account_id = $1 AND is_primary AND id <> $2"
)
SET_PRIMARY = f"UPDATE cards SET is_primary = true WHERE id = $1 RETURNING {CARD_COLUMNS}"

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


def _json_time(value: str) -> str | None:
    """A timestamp PostgreSQL rendered inside JSON, in the service's format."""
    return _time(datetime.fromisoformat(value))


def _snapshot(stored: str) -> dict[str, Any]:
    snapshot: dict[str, Any] = json.loads(stored)
    # Snapshots taken before the field existed read as English.
    snapshot.setdefault("preferred_locale", "en")
    return snapshot


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
        # Set only while a charge waits for the cardholder's challenge; none does here.
        "next_action": None,
        "billing_details": None if snapshot is None else _snapshot(snapshot),
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


def _month(year: int, month: int) -> int:
    return year * 12 + month - 1


def _card(row: asyncpg.Record, now: datetime) -> dict[str, Any]:
    expiry = _month(row["exp_year"], row["exp_month"])
    soon = now + timedelta(days=30)
    return {
        "id": row["id"],
        "brand": row["brand"],
        "last4": row["last4"],
        "exp_month": row["exp_month"],
        "exp_year": row["exp_year"],
        "is_primary": row["is_primary"],
        # Valid through the last day of the expiry month.
        "is_expired": expiry < _month(now.year, now.month),
        # Still valid, and its expiry month ends within 30 days.
        "is_expiring_soon": _month(now.year, now.month) <= expiry < _month(soon.year, soon.month),
        "created_at": _time(row["created_at"]),
    }


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """Nothing to undo: the endpoint sets no session state and holds no transaction."""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    dsn = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/billing_bench")
    app.state.pool = await asyncpg.create_pool(
        dsn,
        min_size=POOL_SIZE,
        max_size=POOL_MAX,
        reset=_keep_session,
        # Timestamps inside json_agg are rendered in the session's time zone.
        server_settings={"timezone": "UTC"},
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


@app.get("/v1/invoices/{invoice_id}")
async def get_invoice(
    request: Request, invoice_id: str, account_id: Annotated[str, Header(alias="X-Account-Id")]
) -> JSONResponse:
    pool: asyncpg.Pool = request.app.state.pool
    row = await pool.fetchrow(DETAIL, account_id, invoice_id)
    if row is None:
        raise HTTPException(404, "no such invoice")
    attempts = json.loads(row["attempts"])
    for attempt in attempts:
        attempt["attempted_at"] = _json_time(attempt["attempted_at"])
    return JSONResponse(
        _summary(row) | {"lines": json.loads(row["lines"]), "payment_attempts": attempts}
    )


@app.get("/v1/cards")
async def list_cards(
    request: Request, account_id: Annotated[str, Header(alias="X-Account-Id")]
) -> JSONResponse:
    pool: asyncpg.Pool = request.app.state.pool
    now = datetime.now(UTC)
    rows = await pool.fetch(CARDS, account_id)
    return JSONResponse(
        {"data": [_card(row, now) for row in rows], "has_more": False, "next_cursor": None}
    )


@app.post("/v1/cards/{card_id}/primary")
async def set_primary_card(
    request: Request, card_id: str, account_id: Annotated[str, Header(alias="X-Account-Id")]
) -> JSONResponse:
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(LOCK_ACCOUNT, account_id)
        row = await connection.fetchrow(CARD, account_id, card_id)
        if row is None:
            raise HTTPException(404, "no such card")
        if not row["is_primary"]:
            # Cleared first, in its own statement: the one-primary index never sees two.
            await connection.execute(CLEAR_PRIMARY, account_id, card_id)
            row = await connection.fetchrow(SET_PRIMARY, card_id)
    return JSONResponse(_card(row, datetime.now(UTC)))
