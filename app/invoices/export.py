"""The invoice list as CSV, streamed: one header row, then one row per invoice, read from
the database in keyset batches so that memory stays flat however many invoices match.

The file is UTF-8 with a byte order mark. Project names come in every script, and Excel,
still the spreadsheet most customers open a download in, reads a CSV without the mark in
the machine's legacy code page ("ZoÃ«" for "Zoë"); LibreOffice, Numbers and Google Sheets
read it either way. Programs decode it as "utf-8-sig" (Python) to drop the mark. Rows end
in CRLF, as RFC 4180 has it.
"""

import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.pagination import Cursor
from app.invoices import repository
from app.invoices.localization import to_major_units
from app.invoices.repository import InvoiceFilters

BYTE_ORDER_MARK = "\ufeff"
COLUMNS = (
    "number",
    "project_id",
    "project_name",
    "status",
    "currency",
    "total",
    "amount_paid",
    "amount_due",
    "period_start",
    "period_end",
    "created_at",
    "finalized_at",
    "paid_at",
)
# A cell a spreadsheet would run as a formula ("=HYPERLINK(...)") if it began with one of
# these (OWASP's CSV injection advice): free text gets a leading apostrophe, which
# spreadsheets hide.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportRow(Protocol):
    number: str | None
    project_id: str
    project_name: str
    status: Any
    currency: str
    total: int
    amount_paid: int
    amount_due: int
    period_start: datetime
    period_end: datetime
    created_at: datetime
    finalized_at: datetime | None
    paid_at: datetime | None


def _timestamp(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _text(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def _cells(row: ExportRow) -> list[str]:
    currency = row.currency
    return [
        row.number or "",
        row.project_id,
        _text(row.project_name),
        str(getattr(row.status, "value", row.status)),
        currency,
        str(to_major_units(row.total, currency)),
        str(to_major_units(row.amount_paid, currency)),
        str(to_major_units(row.amount_due, currency)),
        _timestamp(row.period_start),
        _timestamp(row.period_end),
        _timestamp(row.created_at),
        _timestamp(row.finalized_at),
        _timestamp(row.paid_at),
    ]


def _csv(rows: Iterable[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def header() -> str:
    """The byte order mark and the header row."""
    return BYTE_ORDER_MARK + _csv([list(COLUMNS)])


def lines(rows: Iterable[ExportRow]) -> str:
    """The CSV text of `rows`, one line each."""
    return _csv(_cells(row) for row in rows)


# Rows per query: large enough that the per-query cost vanishes, small enough that memory
# stays flat (about 150 KiB of CSV text per batch).
BATCH_SIZE = 1000


async def export_csv(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: str,
    filters: InvoiceFilters,
) -> AsyncIterator[str]:
    """The export as an iterator of CSV text, every invoice that passes `filters`.

    The batches are the list's pages (its light rows, its keyset order). The first is read
    with the request's session before this returns, so that a database failure is still
    answered as an error rather than a truncated download. The others are read once the
    request's transaction is over, each in its own short one: a long export never holds a
    snapshot or (on SQLite) the write lock.
    """
    first = await repository.list_page(session, account_id, filters, BATCH_SIZE, None)
    return _stream(sessionmaker, account_id, filters, first)


async def _batch(
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: str,
    filters: InvoiceFilters,
    cursor: Cursor,
) -> Sequence[Row[Any]]:
    async with sessionmaker() as session:
        return await repository.list_page(session, account_id, filters, BATCH_SIZE, cursor)


async def _stream(
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: str,
    filters: InvoiceFilters,
    rows: Sequence[Row[Any]],
) -> AsyncIterator[str]:
    yield header()
    # Each page holds one row more than BATCH_SIZE when another page follows.
    while True:
        page = rows[:BATCH_SIZE]
        if page:
            yield lines(page)
        if len(rows) <= BATCH_SIZE:
            return
        cursor = Cursor(page[-1].created_at, page[-1].id)
        rows = await _batch(sessionmaker, account_id, filters, cursor)
