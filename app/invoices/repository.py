"""SQL for invoices, their lines and payment attempts."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Exists,
    Integer,
    Row,
    Select,
    and_,
    bindparam,
    cast,
    exists,
    literal_column,
    null,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.locking import for_update
from app.core.pagination import Cursor
from app.core.reads import LightRow, Reader
from app.models import (
    Account,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PaymentAttempt,
    PaymentOutcome,
)


@dataclass(frozen=True, slots=True)
class InvoiceFilters:
    statuses: Sequence[InvoiceStatus] = ()
    project_id: str | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None


async def add(session: AsyncSession, invoice: Invoice) -> None:
    session.add(invoice)
    await session.flush()


async def get_with_lines(session: AsyncSession, account_id: str, invoice_id: str) -> Invoice | None:
    statement = (
        select(Invoice)
        .where(Invoice.account_id == account_id, Invoice.id == invoice_id)
        .options(selectinload(Invoice.lines))
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def account_of(session: AsyncSession, invoice_id: str) -> str | None:
    """The id of the invoice's account, read without a lock (to know which one to take)."""
    statement = select(Invoice.account_id).where(Invoice.id == invoice_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def lock_for_update(
    session: AsyncSession, invoice_id: str, *, account_id: str | None = None
) -> Invoice | None:
    """The invoice under a row lock (read afresh), so that no two requests charge or move
    it at once."""
    statement = select(Invoice).where(Invoice.id == invoice_id)
    if account_id is not None:
        statement = statement.where(Invoice.account_id == account_id)
    return (await session.execute(for_update(statement))).scalar_one_or_none()


async def load_detail(session: AsyncSession, invoice: Invoice) -> Invoice:
    """Load lines and attempts of an invoice already in the session (after a change)."""
    await session.refresh(invoice, ["lines", "payment_attempts"])
    return invoice


# A list shows these, and only these: the columns of `InvoiceSummary`, read as light rows.
_invoices = Invoice.__table__.c
SUMMARY_COLUMNS = (
    _invoices.id,
    _invoices.number,
    _invoices.account_id,
    _invoices.project_id,
    _invoices.project_name,
    _invoices.status,
    _invoices.currency,
    _invoices.subtotal,
    _invoices.tax,
    _invoices.total,
    _invoices.amount_paid,
    (_invoices.total - _invoices.amount_paid).label("amount_due"),
    _invoices.period_start,
    _invoices.period_end,
    _invoices.created_at,
    _invoices.finalized_at,
    _invoices.due_date,
    _invoices.paid_at,
    _invoices.voided_at,
    _invoices.attempt_count,
    _invoices.next_payment_attempt,
    _invoices.failure_reason,
    _invoices.billing_snapshot,
)


@lru_cache(maxsize=32)
def _page_statement(
    statuses: bool, project: bool, created_gte: bool, created_lt: bool, cursor: bool
) -> Select[Any]:
    """The page query for one combination of filters, built once with bound parameters.

    Built per request, a statement would be rebuilt and its cache key recomputed each time;
    this one is compiled once per filter combination, and asyncpg prepares its SQL once per
    connection.
    """
    statement = select(*SUMMARY_COLUMNS).where(_invoices.account_id == bindparam("account_id"))
    if statuses:
        statement = statement.where(_invoices.status.in_(bindparam("statuses", expanding=True)))
    if project:
        statement = statement.where(_invoices.project_id == bindparam("project_id"))
    if created_gte:
        statement = statement.where(_invoices.created_at >= bindparam("created_gte"))
    if created_lt:
        statement = statement.where(_invoices.created_at < bindparam("created_lt"))
    if cursor:
        # As `after_cursor`, with the cursor's values bound per execution.
        statement = statement.where(
            tuple_(_invoices.created_at, _invoices.id)
            < tuple_(
                bindparam("cursor_created_at", type_=_invoices.created_at.type),
                bindparam("cursor_id", type_=_invoices.id.type),
            )
        )
    return statement.order_by(_invoices.created_at.desc(), _invoices.id.desc()).limit(
        bindparam("limit")
    )


async def list_page(
    db: Reader | AsyncSession,
    account_id: str,
    filters: InvoiceFilters,
    limit: int,
    cursor: Cursor | None,
) -> Sequence[LightRow]:
    """One page of summaries, newest first, plus one row to tell whether another follows."""
    statement: Select[Any] = _page_statement(
        bool(filters.statuses),
        filters.project_id is not None,
        filters.created_gte is not None,
        filters.created_lt is not None,
        cursor is not None,
    )
    params: dict[str, Any] = {"account_id": account_id, "limit": limit + 1}
    if filters.statuses:
        params["statuses"] = list(filters.statuses)
    if filters.project_id is not None:
        params["project_id"] = filters.project_id
    if filters.created_gte is not None:
        params["created_gte"] = filters.created_gte
    if filters.created_lt is not None:
        params["created_lt"] = filters.created_lt
    if cursor is not None:
        params["cursor_created_at"] = cursor.created_at
        params["cursor_id"] = cursor.id
    if isinstance(db, Reader):
        return await db.all(statement, params)
    rows: Sequence[Row[Any]] = (await db.execute(statement, params)).all()
    return rows


_lines = InvoiceLine.__table__.c
_attempts = PaymentAttempt.__table__.c
_LINE_COLUMNS = ("description", "quantity", "unit_amount", "amount")
# What `schemas.PaymentAttempt` shows, and what `schemas.next_action` reads.
_ATTEMPT_COLUMNS = (
    "attempted_at", "card_last4", "outcome", "decline_code", "provider_payment_id", "client_secret"
)  # fmt: skip
_SUMMARY, _LINE, _ATTEMPT = 0, 1, 2
# Every column any part of the detail shows, in the order every part selects them.
_DETAIL_COLUMNS = (
    *SUMMARY_COLUMNS,
    *(_lines[name] for name in _LINE_COLUMNS),
    *(_attempts[name] for name in _ATTEMPT_COLUMNS),
)


def _detail_branch(kind: int, order: Any, shown: dict[str, Any]) -> Select[Any]:
    """One part of the detail's UNION ALL: every part has every column, in one order; those
    another part shows are NULLs cast to the column's type (PostgreSQL resolves a UNION's
    types part by part, and would take an untyped NULL for text)."""
    return select(
        literal_column(str(kind)).label("kind"),
        cast(order, Integer).label("seq"),
        *(
            shown.get(column.name, cast(null(), column.type)).label(column.name)
            for column in _DETAIL_COLUMNS
        ),
    )


_THE_INVOICE = and_(
    _invoices.id == bindparam("id"), _invoices.account_id == bindparam("account_id")
)
# Lines and attempts are read only if the invoice is the caller's (checked once, not per row).
_OWNED = exists().where(_THE_INVOICE)
# An invoice as `GET /v1/invoices/{id}` shows it, in one statement built once: the summary
# row, then its lines, then its payment attempts, each in order. The summary columns come
# once, not repeated on every line (an invoice may have hundreds).
_DETAIL: CompoundSelect[Any] = union_all(
    _detail_branch(_SUMMARY, null(), {column.name: column for column in SUMMARY_COLUMNS}).where(
        _THE_INVOICE
    ),
    _detail_branch(_LINE, _lines.position, {name: _lines[name] for name in _LINE_COLUMNS}).where(
        _lines.invoice_id == bindparam("id"), _OWNED
    ),
    _detail_branch(
        _ATTEMPT, _attempts.id, {name: _attempts[name] for name in _ATTEMPT_COLUMNS}
    ).where(_attempts.invoice_id == bindparam("id"), _OWNED),
).order_by(literal_column("kind"), literal_column("seq"))


@dataclass(frozen=True, slots=True)
class InvoiceDetail:
    """Light rows of one invoice: its summary columns, its attempts and its lines, in order."""

    invoice: LightRow
    attempts: Sequence[LightRow]
    lines: Sequence[LightRow]


async def get_detail(db: Reader, account_id: str, invoice_id: str) -> InvoiceDetail | None:
    rows = await db.all(_DETAIL, {"account_id": account_id, "id": invoice_id})
    if not rows or rows[0].kind != _SUMMARY:
        return None
    return InvoiceDetail(
        invoice=rows[0],
        attempts=[row for row in rows if row.kind == _ATTEMPT],
        lines=[row for row in rows if row.kind == _LINE],
    )


async def add_attempt(session: AsyncSession, attempt: PaymentAttempt) -> None:
    session.add(attempt)
    await session.flush()


async def get_attempt_by_payment(
    session: AsyncSession, invoice_id: str, provider_payment_id: str
) -> PaymentAttempt | None:
    statement = select(PaymentAttempt).where(
        PaymentAttempt.invoice_id == invoice_id,
        PaymentAttempt.provider_payment_id == provider_payment_id,
    )
    return (await session.execute(statement)).scalar_one_or_none()


def payment_due_exists(account_id: ColumnElement[str]) -> Exists:
    """Whether the account has `payment_due` invoices, as a column of the caller's SELECT: a
    change of primary card learns in a statement it makes anyway whether anything is due."""
    return exists().where(
        Invoice.account_id == account_id, Invoice.status == InvoiceStatus.PAYMENT_DUE
    )


async def payment_due_for_account(session: AsyncSession, account_id: str) -> list[Invoice]:
    """The account's due invoices, locked; the caller holds the account's lock already."""
    statement = (
        select(Invoice)
        .where(Invoice.account_id == account_id, Invoice.status == InvoiceStatus.PAYMENT_DUE)
        .order_by(Invoice.created_at, Invoice.id)
    )
    return list((await session.execute(for_update(statement))).scalars())


async def claim_due(
    session: AsyncSession, now: datetime, exclude: Sequence[str] = ()
) -> Invoice | None:
    """The next invoice whose retry is due, locked with its account for this worker alone.

    Invoice and account rows are locked in one statement with SKIP LOCKED: workers share the
    queue without ever waiting for each other, and an account busy with a card change is
    simply left for the next pass, so no lock cycle with request handlers can form.
    (SQLite has one writer at a time and ignores the clause.)
    """
    statement = (
        select(Invoice)
        .join(Account, Account.id == Invoice.account_id)
        .where(
            Invoice.next_payment_attempt.is_not(None),
            Invoice.next_payment_attempt <= now,
            Invoice.status == InvoiceStatus.PAYMENT_DUE,
        )
        .order_by(Invoice.next_payment_attempt, Invoice.id)
        .limit(1)
    )
    if exclude:
        statement = statement.where(Invoice.id.not_in(exclude))
    return (await session.execute(for_update(statement, skip_locked=True))).scalar_one_or_none()


async def open_payment(session: AsyncSession, invoice_id: str) -> PaymentAttempt | None:
    """The invoice's attempt whose payment the provider may still take: it waits for the
    cardholder, or failed the challenge and is not withdrawn yet (its client secret is kept
    until then). At most one: every new charge settles it first."""
    statement = (
        select(PaymentAttempt)
        .where(
            PaymentAttempt.invoice_id == invoice_id,
            PaymentAttempt.client_secret.is_not(None),
            PaymentAttempt.outcome != PaymentOutcome.SUCCEEDED,
        )
        .order_by(PaymentAttempt.id.desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()
