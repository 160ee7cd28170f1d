"""Invoices: reading them, and the platform's calls (create, finalize, void, give up).

The status state machine is in `states`; charging and its retry schedule in `charging` and
`retry`; the customer's payments and the provider's news of them in `paying`.
"""

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import repository as accounts
from app.billing_details.service import snapshot_for_project
from app.core.db import commit
from app.core.errors import FieldProblem, ValidationFailed
from app.core.ids import new_id
from app.core.lookup import found
from app.core.observability import log_event
from app.core.pagination import Cursor
from app.core.reads import LightRow, Reader
from app.events.types import EventType
from app.invoices import repository
from app.invoices.announce import announce
from app.invoices.charging import charge_on_schedule, lock_for_charge, settle_waiting_payment
from app.invoices.errors import (
    InvoiceNotDraft,
    InvoiceNotFinalized,
    InvoiceNotFound,
    InvoiceNotOpen,
    InvoiceNotVoidable,
)
from app.invoices.limits import amount_problems
from app.invoices.repository import InvoiceDetail, InvoiceFilters
from app.invoices.retry import RetryPolicy
from app.invoices.schemas import InvoiceCreate
from app.invoices.states import OPEN, VOIDABLE, mark_paid, move
from app.models import Invoice, InvoiceLine, InvoiceStatus
from app.payments.provider import PaymentProvider
from app.projects.service import get_project

# --- reading -----------------------------------------------------------------------------


async def get_invoice(db: Reader, account_id: str, invoice_id: str) -> InvoiceDetail:
    invoice = await repository.get_detail(db, account_id, invoice_id)
    return found(invoice, InvoiceNotFound, f"No invoice {invoice_id} on this account.")


async def list_invoices(
    db: Reader | AsyncSession,
    account_id: str,
    filters: InvoiceFilters,
    limit: int,
    cursor: str | None,
) -> Sequence[LightRow]:
    """One page of invoice summaries (light rows), plus one row if another page follows."""
    _check_window(filters)
    position = Cursor.decode(cursor) if cursor is not None else None
    return await repository.list_page(db, account_id, filters, limit, position)


def _check_window(filters: InvoiceFilters) -> None:
    if (
        filters.created_gte is not None
        and filters.created_lt is not None
        and filters.created_lt <= filters.created_gte
    ):
        raise ValidationFailed(
            [FieldProblem(field="created_lt", message="Must be after created_gte.", type="invalid")]
        )


async def export_filters(
    session: AsyncSession, account_id: str, filters: InvoiceFilters, project_id: str | None
) -> InvoiceFilters:
    """The filters of an export, checked as the list checks them; scoped to `project_id`
    (which must be the account's) when one is given."""
    _check_window(filters)
    if project_id is None:
        return filters
    await get_project(session, account_id, project_id)
    return replace(filters, project_id=project_id)


async def list_project_invoices(
    session: AsyncSession,
    account_id: str,
    project_id: str,
    filters: InvoiceFilters,
    limit: int,
    cursor: str | None,
) -> Sequence[LightRow]:
    await get_project(session, account_id, project_id)
    scoped = InvoiceFilters(
        statuses=filters.statuses,
        project_id=project_id,
        created_gte=filters.created_gte,
        created_lt=filters.created_lt,
    )
    return await list_invoices(session, account_id, scoped, limit, cursor)


async def get_finalized_with_lines(
    session: AsyncSession, account_id: str, invoice_id: str
) -> Invoice:
    invoice = found(
        await repository.get_with_lines(session, account_id, invoice_id),
        InvoiceNotFound,
        f"No invoice {invoice_id} on this account.",
    )
    if invoice.is_draft:
        raise InvoiceNotFinalized(
            "A draft has no PDF yet: it is made when the invoice is finalized."
        )
    return invoice


# --- the platform's calls ----------------------------------------------------------------


async def create_invoice(session: AsyncSession, body: InvoiceCreate, now: datetime) -> Invoice:
    project = await get_project(session, body.account_id, body.project_id)
    lines = [
        InvoiceLine(
            position=position,
            description=line.description,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            amount=line.quantity * line.unit_amount,
        )
        for position, line in enumerate(body.lines)
    ]
    subtotal = sum(line.amount for line in lines)
    total = subtotal + body.tax
    problems = amount_problems(subtotal, total)
    if problems:
        raise ValidationFailed(problems)
    invoice = Invoice(
        id=new_id("in"),
        account_id=body.account_id,
        project_id=project.id,
        project_name=project.name,
        status=InvoiceStatus.PAYMENT_PENDING,
        currency=body.currency,
        subtotal=subtotal,
        tax=body.tax,
        total=total,
        amount_paid=0,
        period_start=body.period_start,
        period_end=body.period_end,
        created_at=now,
        attempt_count=0,
        retries_made=0,
        lines=lines,
        payment_attempts=[],
    )
    await repository.add(session, invoice)
    log_event(session, "invoice.created", invoice_id=invoice.id, project_id=invoice.project_id)
    return invoice


async def _lock_invoice(session: AsyncSession, invoice_id: str) -> Invoice:
    invoice = await repository.lock_for_update(session, invoice_id)
    return found(invoice, InvoiceNotFound, f"No invoice {invoice_id}.")


async def finalize_invoice(
    session: AsyncSession,
    provider: PaymentProvider,
    invoice_id: str,
    now: datetime,
    policy: RetryPolicy,
) -> Invoice:
    invoice = await lock_for_charge(session, invoice_id)
    if not (invoice.is_draft and invoice.status is InvoiceStatus.PAYMENT_PENDING):
        raise InvoiceNotDraft(f"Invoice {invoice_id} is already finalized or voided.")
    snapshot = await snapshot_for_project(session, invoice.account_id, invoice.project_id)
    prefix, sequence = await accounts.take_invoice_number(session, invoice.account_id)
    invoice.number = f"{prefix}-{sequence:04d}"
    invoice.billing_snapshot = snapshot.model_dump(mode="json")
    invoice.finalized_at = now
    invoice.due_date = now
    log_event(session, "invoice.finalized", invoice_id=invoice.id, number=invoice.number)
    # Announced as finalized and not yet charged; the charge's outcome is an event of its own.
    await announce(session, invoice, EventType.INVOICE_FINALIZED, now)
    if invoice.total == 0:
        await mark_paid(session, invoice, now)
    else:
        await charge_on_schedule(session, provider, invoice, now, policy, retries_made=0)
    await session.flush()
    return await repository.load_detail(session, invoice)


async def void_invoice(
    session: AsyncSession, provider: PaymentProvider, invoice_id: str, now: datetime
) -> Invoice:
    invoice = await _lock_invoice(session, invoice_id)
    if invoice.status not in VOIDABLE:
        raise InvoiceNotVoidable(
            f"Invoice {invoice_id} is {invoice.status.value}; it cannot be voided."
        )
    # A payment still waiting for the cardholder is withdrawn first: a voided invoice must
    # never be paid by a challenge passed afterwards.
    await settle_waiting_payment(session, provider, invoice, now)
    if invoice.status is InvoiceStatus.PAID:
        # The cardholder got there first: that is a fact to keep, and the void is refused.
        await commit(session)
        raise InvoiceNotVoidable(f"Invoice {invoice_id} was just paid; it cannot be voided.")
    move(invoice, InvoiceStatus.VOIDED)
    invoice.voided_at = now
    invoice.next_payment_attempt = None
    log_event(session, "invoice.voided", invoice_id=invoice.id, number=invoice.number)
    await announce(session, invoice, EventType.INVOICE_VOIDED, now)
    return invoice


async def mark_uncollectible(session: AsyncSession, invoice_id: str, now: datetime) -> Invoice:
    invoice = await _lock_invoice(session, invoice_id)
    if invoice.is_draft or invoice.status not in OPEN:
        raise InvoiceNotOpen(
            f"Invoice {invoice_id} is {'a draft' if invoice.is_draft else invoice.status.value}; "
            "only a finalized invoice awaiting payment can be marked uncollectible."
        )
    move(invoice, InvoiceStatus.NOT_PAID)
    invoice.next_payment_attempt = None
    log_event(session, "invoice.marked_uncollectible", invoice_id=invoice.id, number=invoice.number)
    await announce(session, invoice, EventType.INVOICE_NOT_PAID, now)
    return invoice
