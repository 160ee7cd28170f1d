"""Invoice rules: the status state machine, gapless numbering, charging and retries.

Statuses and what may move them (anything else is refused with a 409):

    draft (payment_pending) --finalize--> paid | payment_due
    payment_due --retry ok / pay ok--> paid
    payment_due --last scheduled retry fails--> not_paid
    not_paid --pay ok--> paid
    payment_pending (finalized), payment_due --mark uncollectible--> not_paid
    payment_pending, payment_due, not_paid --void--> voided

`paid` and `voided` are final. A finalized invoice never changes its lines, totals, number
or billing snapshot: only its payment state moves.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import repository as accounts
from app.accounts.service import ensure_customer
from app.billing_details.service import snapshot_for_project
from app.core.db import commit
from app.core.errors import FieldProblem, ValidationFailed
from app.core.ids import new_id
from app.core.observability import count_charge, count_invoice_transition, log_event
from app.core.pagination import Cursor
from app.events.types import EventType
from app.invoices import repository
from app.invoices.announce import announce
from app.invoices.errors import (
    InvoiceNotDraft,
    InvoiceNotFinalized,
    InvoiceNotFound,
    InvoiceNotOpen,
    InvoiceNotPayable,
    InvoiceNotVoidable,
    NoPaymentMethod,
)
from app.invoices.repository import InvoiceFilters
from app.invoices.schemas import MAX_AMOUNT, InvoiceCreate
from app.models import Card, Invoice, InvoiceLine, InvoiceStatus, PaymentAttempt, PaymentOutcome
from app.payments.errors import PROVIDER_ERRORS, CardDeclined
from app.payments.provider import ChargeRequest, PaymentProvider
from app.projects.service import get_project

VOIDABLE = frozenset(
    {InvoiceStatus.PAYMENT_PENDING, InvoiceStatus.PAYMENT_DUE, InvoiceStatus.NOT_PAID}
)
PAYABLE = frozenset({InvoiceStatus.PAYMENT_DUE, InvoiceStatus.NOT_PAID})
OPEN = frozenset({InvoiceStatus.PAYMENT_PENDING, InvoiceStatus.PAYMENT_DUE})


class ChargeKind(Enum):
    """Why a charge is made; it decides what a decline does to the retry schedule."""

    FIRST = "first"  # at finalization: a decline starts the schedule
    RETRY = "retry"  # a scheduled retry: a decline moves along the schedule, or ends it
    MANUAL = "manual"  # the user paying, or a new primary card: the schedule is untouched


def _move(invoice: Invoice, status: InvoiceStatus) -> None:
    if invoice.status is status:
        return
    count_invoice_transition(invoice.status.value, status.value)
    invoice.status = status


async def _mark_paid(session: AsyncSession, invoice: Invoice, now: datetime) -> None:
    _move(invoice, InvoiceStatus.PAID)
    invoice.amount_paid = invoice.total
    invoice.paid_at = now
    invoice.next_payment_attempt = None
    log_event("invoice.paid", invoice_id=invoice.id, number=invoice.number, amount=invoice.total)
    await announce(session, invoice, EventType.INVOICE_PAID, now)


# --- reading -----------------------------------------------------------------------------


async def get_invoice(session: AsyncSession, account_id: str, invoice_id: str) -> Invoice:
    invoice = await repository.get(session, account_id, invoice_id, detail=True)
    if invoice is None:
        raise InvoiceNotFound(f"No invoice {invoice_id} on this account.")
    return invoice


async def list_invoices(
    session: AsyncSession,
    account_id: str,
    filters: InvoiceFilters,
    limit: int,
    cursor: str | None,
) -> list[Invoice]:
    if (
        filters.created_gte is not None
        and filters.created_lt is not None
        and filters.created_lt <= filters.created_gte
    ):
        raise ValidationFailed(
            [FieldProblem(field="created_lt", message="Must be after created_gte.", type="invalid")]
        )
    position = Cursor.decode(cursor) if cursor is not None else None
    return await repository.list_page(session, account_id, filters, limit, position)


async def list_project_invoices(
    session: AsyncSession,
    account_id: str,
    project_id: str,
    filters: InvoiceFilters,
    limit: int,
    cursor: str | None,
) -> list[Invoice]:
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
    invoice = await repository.get_with_lines(session, account_id, invoice_id)
    if invoice is None:
        raise InvoiceNotFound(f"No invoice {invoice_id} on this account.")
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
    problems = []
    if subtotal < 0:
        problems.append(
            FieldProblem(
                field="lines", message="The lines add up to less than zero.", type="invalid"
            )
        )
    if total > MAX_AMOUNT:
        problems.append(
            FieldProblem(
                field="lines",
                message=f"The total exceeds {MAX_AMOUNT} minor units.",
                type="invalid",
            )
        )
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
    log_event("invoice.created", invoice_id=invoice.id, project_id=invoice.project_id)
    return invoice


async def _locked(session: AsyncSession, invoice_id: str) -> Invoice:
    invoice = await repository.lock(session, invoice_id)
    if invoice is None:
        raise InvoiceNotFound(f"No invoice {invoice_id}.")
    return invoice


async def _locked_for_charge(
    session: AsyncSession, invoice_id: str, account_id: str | None = None
) -> Invoice:
    """Lock the invoice's account, then the invoice: the order every charging path uses.

    Card changes lock the account and then its due invoices; taking the locks in the same
    order here means two requests can queue behind each other but never deadlock.
    """
    if account_id is None:
        found = await repository.find(session, invoice_id)
        if found is None:
            raise InvoiceNotFound(f"No invoice {invoice_id}.")
        account_id = found.account_id
    await accounts.lock(session, account_id)
    invoice = await repository.lock(session, invoice_id, account_id=account_id)
    if invoice is None:
        raise InvoiceNotFound(f"No invoice {invoice_id} on this account.")
    return invoice


async def finalize_invoice(
    session: AsyncSession,
    provider: PaymentProvider,
    invoice_id: str,
    now: datetime,
    schedule: Sequence[timedelta],
) -> Invoice:
    invoice = await _locked_for_charge(session, invoice_id)
    if not (invoice.is_draft and invoice.status is InvoiceStatus.PAYMENT_PENDING):
        raise InvoiceNotDraft(f"Invoice {invoice_id} is already finalized or voided.")
    snapshot = await snapshot_for_project(session, invoice.account_id, invoice.project_id)
    prefix, sequence = await accounts.take_invoice_number(session, invoice.account_id)
    invoice.number = f"{prefix}-{sequence:04d}"
    invoice.billing_snapshot = snapshot.model_dump(mode="json")
    invoice.finalized_at = now
    invoice.due_date = now
    log_event("invoice.finalized", invoice_id=invoice.id, number=invoice.number)
    # Announced as finalized and not yet charged; the charge's outcome is an event of its own.
    await announce(session, invoice, EventType.INVOICE_FINALIZED, now)
    if invoice.total == 0:
        await _mark_paid(session, invoice, now)
    else:
        await charge(session, provider, invoice, now, schedule, ChargeKind.FIRST)
    await session.flush()
    return await repository.load_detail(session, invoice)


async def void_invoice(session: AsyncSession, invoice_id: str, now: datetime) -> Invoice:
    invoice = await _locked(session, invoice_id)
    if invoice.status not in VOIDABLE:
        raise InvoiceNotVoidable(
            f"Invoice {invoice_id} is {invoice.status.value}; it cannot be voided."
        )
    _move(invoice, InvoiceStatus.VOIDED)
    invoice.voided_at = now
    invoice.next_payment_attempt = None
    log_event("invoice.voided", invoice_id=invoice.id, number=invoice.number)
    await announce(session, invoice, EventType.INVOICE_VOIDED, now)
    return invoice


async def mark_uncollectible(session: AsyncSession, invoice_id: str, now: datetime) -> Invoice:
    invoice = await _locked(session, invoice_id)
    if invoice.is_draft or invoice.status not in OPEN:
        raise InvoiceNotOpen(
            f"Invoice {invoice_id} is {'a draft' if invoice.is_draft else invoice.status.value}; "
            "only a finalized invoice awaiting payment can be marked uncollectible."
        )
    _move(invoice, InvoiceStatus.NOT_PAID)
    invoice.next_payment_attempt = None
    log_event("invoice.marked_uncollectible", invoice_id=invoice.id, number=invoice.number)
    await announce(session, invoice, EventType.INVOICE_NOT_PAID, now)
    return invoice


# --- paying ------------------------------------------------------------------------------


async def pay_invoice(
    session: AsyncSession,
    provider: PaymentProvider,
    account_id: str,
    invoice_id: str,
    now: datetime,
    schedule: Sequence[timedelta],
) -> Invoice:
    invoice = await _locked_for_charge(session, invoice_id, account_id)
    if invoice.status not in PAYABLE:
        raise InvoiceNotPayable(
            f"Invoice {invoice_id} is {invoice.status.value}; only payment_due or not_paid "
            "invoices can be paid."
        )
    if await accounts.primary_card(session, account_id) is None:
        raise NoPaymentMethod("Add a card first: the invoice is charged to the primary card.")
    attempt = await charge(session, provider, invoice, now, schedule, ChargeKind.MANUAL)
    if attempt.outcome is not PaymentOutcome.SUCCEEDED:
        # The attempt and the invoice's new state are facts even though the caller is told
        # 402: they are committed here, before the error unwinds the request.
        await commit(session)
        raise CardDeclined(
            attempt.decline_code,
            f"The charge of invoice {invoice.number} was declined ({attempt.decline_code}); "
            "the invoice is still unpaid.",
        )
    return await repository.load_detail(session, invoice)


def _idempotency_key(invoice: Invoice, attempt_number: int, card: Card) -> str:
    # Derived only from committed state: if the process dies after the provider answered
    # but before our commit, the re-run computes the same key and the provider replays its
    # first answer instead of charging twice. The card is part of the key because the
    # provider refuses a key reused with different parameters.
    return f"{invoice.id}-attempt-{attempt_number}-{card.id}"


async def charge(
    session: AsyncSession,
    provider: PaymentProvider,
    invoice: Invoice,
    now: datetime,
    schedule: Sequence[timedelta],
    kind: ChargeKind,
) -> PaymentAttempt:
    """Charge the account's primary card for the invoice and record the attempt.

    The caller holds the account's and the invoice's row locks. A decline is recorded, not
    raised.
    """
    card = await accounts.primary_card(session, invoice.account_id)
    attempt_number = invoice.attempt_count + 1
    attempt = PaymentAttempt(
        invoice_id=invoice.id,
        attempted_at=now,
        amount=invoice.amount_due,
        outcome=PaymentOutcome.NO_PAYMENT_METHOD,
    )
    if card is not None:
        account = await accounts.get(session, invoice.account_id)
        assert account is not None, "an invoice's account is never deleted before it"
        customer_id = await ensure_customer(session, provider, account)
        attempt.card_id = card.id
        attempt.card_last4 = card.last4
        attempt.idempotency_key = _idempotency_key(invoice, attempt_number, card)
        result = await provider.charge(
            ChargeRequest(
                customer_id=customer_id,
                payment_method_id=card.provider_payment_method_id,
                amount=invoice.amount_due,
                currency=invoice.currency,
                idempotency_key=attempt.idempotency_key,
                metadata={"invoice_id": invoice.id, "project_id": invoice.project_id},
            )
        )
        attempt.provider_payment_id = result.provider_payment_id
        attempt.outcome = PaymentOutcome.SUCCEEDED if result.succeeded else PaymentOutcome.FAILED
        attempt.decline_code = (
            None if result.succeeded else (result.decline_code or "card_declined")
        )
    invoice.attempt_count = attempt_number
    await repository.add_attempt(session, attempt)
    count_charge(attempt.outcome.value)
    if attempt.outcome is PaymentOutcome.SUCCEEDED:
        invoice.failure_reason = None
        await _mark_paid(session, invoice, now)
        return attempt
    invoice.failure_reason = attempt.decline_code or attempt.outcome.value
    was_not_paid = invoice.status is InvoiceStatus.NOT_PAID
    _schedule_after_failure(invoice, now, schedule, kind)
    log_event(
        "invoice.payment_failed",
        invoice_id=invoice.id,
        number=invoice.number,
        reason=invoice.failure_reason,
        status=invoice.status.value,
    )
    await announce(session, invoice, EventType.INVOICE_PAYMENT_FAILED, now)
    if invoice.status is InvoiceStatus.NOT_PAID and not was_not_paid:
        await announce(session, invoice, EventType.INVOICE_NOT_PAID, now)
    return attempt


def _schedule_after_failure(
    invoice: Invoice, now: datetime, schedule: Sequence[timedelta], kind: ChargeKind
) -> None:
    if kind is ChargeKind.MANUAL:
        return
    if kind is ChargeKind.FIRST:
        invoice.retries_made = 0
    else:
        invoice.retries_made += 1
    if invoice.retries_made < len(schedule):
        _move(invoice, InvoiceStatus.PAYMENT_DUE)
        invoice.next_payment_attempt = now + schedule[invoice.retries_made]
    else:
        _move(invoice, InvoiceStatus.NOT_PAID)
        invoice.next_payment_attempt = None


async def apply_payment_event(
    session: AsyncSession,
    *,
    invoice_id: str,
    provider_payment_id: str,
    succeeded: bool,
    decline_code: str | None,
    now: datetime,
) -> None:
    """Reconcile an invoice with the provider's word on one of its payments (webhooks).

    Never moves an invoice backwards: a late failure cannot undo `paid`, and nothing revives
    a voided invoice. Unknown invoices are ignored (they may belong to another system).
    """
    invoice = await repository.lock(session, invoice_id)
    if invoice is None or invoice.is_draft:
        return
    attempt = await repository.get_attempt_by_payment(session, invoice.id, provider_payment_id)
    if succeeded:
        if attempt is not None:
            attempt.outcome = PaymentOutcome.SUCCEEDED
            attempt.decline_code = None
        if invoice.status in PAYABLE or invoice.status is InvoiceStatus.PAYMENT_PENDING:
            invoice.failure_reason = None
            await _mark_paid(session, invoice, now)
    elif attempt is not None and attempt.outcome is PaymentOutcome.SUCCEEDED:
        # The provider reports a failure for a payment we recorded as successful only when
        # events arrive out of order; the success is the later truth.
        return
    elif invoice.status is InvoiceStatus.PAYMENT_PENDING:
        invoice.failure_reason = decline_code or "card_declined"
        _move(invoice, InvoiceStatus.PAYMENT_DUE)
        await announce(session, invoice, EventType.INVOICE_PAYMENT_FAILED, now)
    await session.flush()


async def pay_due_with_new_primary(
    session: AsyncSession,
    provider: PaymentProvider,
    account_id: str,
    now: datetime,
    schedule: Sequence[timedelta],
) -> None:
    """The rule "a new primary card pays what is due": charge the account's `payment_due`
    invoices now. Cards call it whenever an account's primary card changes.

    The caller holds the account's lock. Each charge runs in a savepoint: a provider that
    cannot answer undoes only that attempt, never the card change that triggered it, and
    the invoice keeps its schedule.
    """
    for invoice in await repository.payment_due_for_account(session, account_id):
        try:
            async with session.begin_nested():
                await charge(session, provider, invoice, now, schedule, ChargeKind.MANUAL)
        except PROVIDER_ERRORS as exc:
            log_event("invoice.retry_postponed", invoice_id=invoice.id, error=exc.code)
