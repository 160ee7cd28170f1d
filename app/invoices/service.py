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
from dataclasses import replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

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
    AuthenticationRequired,
    InvoiceNotDraft,
    InvoiceNotFinalized,
    InvoiceNotFound,
    InvoiceNotOpen,
    InvoiceNotPayable,
    InvoiceNotVoidable,
    NoPaymentMethod,
)
from app.invoices.repository import InvoiceDetail, InvoiceFilters
from app.invoices.schemas import MAX_AMOUNT, InvoiceCreate, NextAction
from app.models import Card, Invoice, InvoiceLine, InvoiceStatus, PaymentAttempt, PaymentOutcome
from app.payments.errors import AUTHENTICATION_REQUIRED, PROVIDER_ERRORS, CardDeclined
from app.payments.provider import ChargeRequest, PaymentProvider, PaymentStatus
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


async def get_invoice(
    connection: AsyncConnection, account_id: str, invoice_id: str
) -> InvoiceDetail:
    invoice = await repository.get_detail(connection, account_id, invoice_id)
    if invoice is None:
        raise InvoiceNotFound(f"No invoice {invoice_id} on this account.")
    return invoice


async def list_invoices(
    db: AsyncConnection | AsyncSession,
    account_id: str,
    filters: InvoiceFilters,
    limit: int,
    cursor: str | None,
) -> Sequence[Row[Any]]:
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
) -> Sequence[Row[Any]]:
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


async def lock_for_payment(session: AsyncSession, invoice_id: str) -> None:
    """Take the locks a charge of the invoice takes, for news of one of its payments that
    comes with a change at the provider (the sandbox's challenge)."""
    await _locked_for_charge(session, invoice_id)


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


async def void_invoice(
    session: AsyncSession, provider: PaymentProvider, invoice_id: str, now: datetime
) -> Invoice:
    invoice = await _locked(session, invoice_id)
    if invoice.status not in VOIDABLE:
        raise InvoiceNotVoidable(
            f"Invoice {invoice_id} is {invoice.status.value}; it cannot be voided."
        )
    # A payment still waiting for the cardholder is withdrawn first: a voided invoice must
    # never be paid by a challenge passed afterwards.
    await _settle_waiting_payment(session, provider, invoice, now)
    if invoice.status is InvoiceStatus.PAID:
        # The cardholder got there first: that is a fact to keep, and the void is refused.
        await commit(session)
        raise InvoiceNotVoidable(f"Invoice {invoice_id} was just paid; it cannot be voided.")
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
    primary = await accounts.primary_card(session, account_id)
    if primary is None:
        raise NoPaymentMethod("Add a card first: the invoice is charged to the primary card.")
    waiting = await _settle_waiting_payment(session, provider, invoice, now, keep_for=primary)
    if waiting is not None and waiting.outcome is PaymentOutcome.REQUIRES_ACTION:
        # The customer is back for the challenge of a payment already under way: the same
        # challenge, never a second charge beside it.
        raise _authentication_required(invoice, waiting)
    if invoice.status is not InvoiceStatus.PAID:
        attempt = await charge(session, provider, invoice, now, schedule, ChargeKind.MANUAL)
        if attempt.outcome is not PaymentOutcome.SUCCEEDED:
            # The attempt and the invoice's new state are facts even though the caller is told
            # 402: they are committed here, before the error unwinds the request.
            await commit(session)
            if attempt.outcome is PaymentOutcome.REQUIRES_ACTION:
                raise _authentication_required(invoice, attempt)
            raise CardDeclined(
                attempt.decline_code,
                f"The charge of invoice {invoice.number} was declined ({attempt.decline_code}); "
                "the invoice is still unpaid.",
            )
    return await repository.load_detail(session, invoice)


def _authentication_required(invoice: Invoice, attempt: PaymentAttempt) -> AuthenticationRequired:
    assert attempt.provider_payment_id is not None
    assert attempt.client_secret is not None
    return AuthenticationRequired(
        NextAction(payment_intent=attempt.provider_payment_id, client_secret=attempt.client_secret),
        f"The bank asks the cardholder to authenticate the payment of invoice {invoice.number}: "
        "run the challenge in `next_action`.",
    )


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
    raised. A payment of the invoice still waiting for the cardholder is settled first: if it
    succeeded meanwhile that is the answer, else it is withdrawn, so two can never both pay.
    """
    settled = await _settle_waiting_payment(session, provider, invoice, now)
    if settled is not None and settled.outcome is PaymentOutcome.SUCCEEDED:
        return settled
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
        if result.succeeded:
            attempt.outcome = PaymentOutcome.SUCCEEDED
        elif result.client_secret is not None:
            # Not over: the payment waits for the cardholder's challenge (`next_action`).
            attempt.outcome = PaymentOutcome.REQUIRES_ACTION
            attempt.client_secret = result.client_secret
            attempt.decline_code = AUTHENTICATION_REQUIRED
        else:
            attempt.outcome = PaymentOutcome.FAILED
            attempt.decline_code = result.decline_code or "card_declined"
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


async def _settle_waiting_payment(
    session: AsyncSession,
    provider: PaymentProvider,
    invoice: Invoice,
    now: datetime,
    *,
    keep_for: Card | None = None,
) -> PaymentAttempt | None:
    """Settle the invoice's payment the provider may still take (one that waits for the
    cardholder's challenge, or failed it and is not withdrawn yet), before anything else
    charges the invoice: if it succeeded, the invoice is paid; otherwise it is withdrawn at the
    provider, so it can never succeed beside a new charge. A payment still waiting is kept
    if it is on `keep_for`, the card the customer is paying with now. Returns that attempt.
    """
    attempt = await repository.open_payment(session, invoice.id)
    if attempt is None or attempt.provider_payment_id is None:
        return None
    state = await provider.retrieve_payment(attempt.provider_payment_id)
    waiting = state.status is PaymentStatus.REQUIRES_ACTION
    if waiting and keep_for is not None and attempt.card_id == keep_for.id:
        return attempt
    failure_code = state.failure_code
    if state.status is not PaymentStatus.SUCCEEDED:
        state = await provider.cancel_payment(attempt.provider_payment_id)
    if state.status is PaymentStatus.SUCCEEDED:
        await _payment_succeeded(session, invoice, attempt, now)
    else:
        _payment_failed(invoice, attempt, failure_code)
        attempt.client_secret = None
        log_event("invoice.payment_withdrawn", invoice_id=invoice.id, reason=attempt.decline_code)
    await session.flush()
    return attempt


async def _payment_succeeded(
    session: AsyncSession, invoice: Invoice, attempt: PaymentAttempt | None, now: datetime
) -> None:
    if attempt is not None:
        attempt.outcome = PaymentOutcome.SUCCEEDED
        attempt.decline_code = None
        attempt.client_secret = None
    if invoice.status in PAYABLE or invoice.status is InvoiceStatus.PAYMENT_PENDING:
        invoice.failure_reason = None
        await _mark_paid(session, invoice, now)


def _payment_failed(invoice: Invoice, attempt: PaymentAttempt, failure_code: str | None) -> bool:
    """A payment that waited for the cardholder is over without money: the challenge failed
    (`authentication_failed`), or it was withdrawn (its reason stays). True if that is news
    for an unpaid invoice."""
    if attempt.outcome is not PaymentOutcome.REQUIRES_ACTION:
        return False
    attempt.outcome = PaymentOutcome.FAILED
    attempt.decline_code = failure_code or attempt.decline_code
    if invoice.status not in PAYABLE:
        return False
    invoice.failure_reason = attempt.decline_code
    return True


async def apply_payment_event(
    session: AsyncSession,
    *,
    invoice_id: str,
    provider_payment_id: str,
    status: PaymentStatus,
    failure_code: str | None,
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
    if status is PaymentStatus.SUCCEEDED:
        await _payment_succeeded(session, invoice, attempt, now)
    elif attempt is not None:
        # We recorded this payment from the provider's own answer. A failure after a
        # challenge is news; a failure or a challenge for a payment we hold as succeeded is
        # an event arriving late (the success is the later truth), and a challenge we
        # recorded already.
        if status is PaymentStatus.FAILED and _payment_failed(invoice, attempt, failure_code):
            await announce(session, invoice, EventType.INVOICE_PAYMENT_FAILED, now)
    elif invoice.status is InvoiceStatus.PAYMENT_PENDING:
        # The charge's answer was lost before we recorded it; the collector's re-run will.
        invoice.failure_reason = (
            AUTHENTICATION_REQUIRED
            if status is PaymentStatus.REQUIRES_ACTION
            else (failure_code or "card_declined")
        )
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
