"""Charging an invoice: the locks, the charge and its recorded attempt, and what a decline does.

Two kinds of charge, named for what a decline does to the retry schedule:

- `charge_on_schedule`, at finalization (a decline starts the schedule) and by the collector
  (a decline moves along the schedule, or ends it): given the `RetryPolicy`;
- `charge_now`, the customer paying or a new primary card: a decline leaves the schedule as
  it is, and no policy is given.
"""

from collections.abc import Callable
from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import repository as accounts
from app.accounts.service import ensure_customer
from app.core.lookup import found
from app.core.observability import count_charge, log_event
from app.events.types import EventType
from app.invoices import repository
from app.invoices.announce import announce
from app.invoices.errors import InvoiceNotFound
from app.invoices.retry import RetryPolicy
from app.invoices.states import PAYABLE, mark_paid, move
from app.models import Card, Invoice, InvoiceStatus, PaymentAttempt, PaymentOutcome
from app.payments.errors import AUTHENTICATION_REQUIRED
from app.payments.provider import ChargeRequest, PaymentProvider, PaymentStatus


async def lock_for_charge(
    session: AsyncSession, invoice_id: str, account_id: str | None = None
) -> Invoice:
    """Lock the invoice's account, then the invoice: the order every charging path uses.

    Card changes lock the account and then its due invoices; taking the locks in the same
    order here means two requests can queue behind each other but never deadlock.
    """
    if account_id is None:
        account_of = await repository.account_of(session, invoice_id)
        account_id = found(account_of, InvoiceNotFound, f"No invoice {invoice_id}.")
    await accounts.lock(session, account_id)
    invoice = await repository.lock_for_update(session, invoice_id, account_id=account_id)
    return found(invoice, InvoiceNotFound, f"No invoice {invoice_id} on this account.")


async def lock_for_payment(session: AsyncSession, invoice_id: str) -> None:
    """Take the locks a charge of the invoice takes, for news of one of its payments that
    comes with a change at the provider (the sandbox's challenge)."""
    await lock_for_charge(session, invoice_id)


def _reschedule(invoice: Invoice, now: datetime, policy: RetryPolicy, retries_made: int) -> None:
    """After a decline `retries_made` retries into the schedule: due again later, or given up."""
    invoice.retries_made = retries_made
    invoice.next_payment_attempt = policy.next_attempt(retries_made, now)
    given_up = invoice.next_payment_attempt is None
    move(invoice, InvoiceStatus.NOT_PAID if given_up else InvoiceStatus.PAYMENT_DUE)


async def charge_on_schedule(
    session: AsyncSession,
    provider: PaymentProvider,
    invoice: Invoice,
    now: datetime,
    policy: RetryPolicy,
    *,
    retries_made: int,
) -> PaymentAttempt:
    """A charge the schedule makes: at finalization (`retries_made=0`, a decline starts the
    schedule) or a scheduled retry (one more than the invoice's: a decline moves along the
    schedule, or ends it)."""
    reschedule = partial(_reschedule, invoice, now, policy, retries_made)
    return await _charge(session, provider, invoice, now, after_decline=reschedule)


async def charge_now(
    session: AsyncSession, provider: PaymentProvider, invoice: Invoice, now: datetime
) -> PaymentAttempt:
    """A charge outside the schedule (the customer paying, a new primary card): a decline
    leaves the invoice's status and next retry as they are."""
    return await _charge(session, provider, invoice, now, after_decline=None)


def _idempotency_key(invoice: Invoice, attempt_number: int, card: Card) -> str:
    # Derived only from committed state: if the process dies after the provider answered
    # but before our commit, the re-run computes the same key and the provider replays its
    # first answer instead of charging twice. The card is part of the key because the
    # provider refuses a key reused with different parameters.
    return f"{invoice.id}-attempt-{attempt_number}-{card.id}"


async def _charge(
    session: AsyncSession,
    provider: PaymentProvider,
    invoice: Invoice,
    now: datetime,
    *,
    after_decline: Callable[[], None] | None,
) -> PaymentAttempt:
    """Charge the account's primary card for the invoice and record the attempt.

    The caller holds the account's and the invoice's row locks. A decline is recorded, not
    raised. A payment of the invoice still waiting for the cardholder is settled first: if it
    succeeded meanwhile that is the answer, else it is withdrawn, so two can never both pay.
    """
    settled = await settle_waiting_payment(session, provider, invoice, now)
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
        await mark_paid(session, invoice, now)
        return attempt
    invoice.failure_reason = attempt.decline_code or attempt.outcome.value
    was_not_paid = invoice.status is InvoiceStatus.NOT_PAID
    if after_decline is not None:
        after_decline()
    log_event(
        session,
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


async def settle_waiting_payment(
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
        await payment_succeeded(session, invoice, attempt, now)
    else:
        payment_failed(invoice, attempt, failure_code)
        attempt.client_secret = None
        log_event(
            session,
            "invoice.payment_withdrawn",
            invoice_id=invoice.id,
            reason=attempt.decline_code,
        )
    await session.flush()
    return attempt


async def payment_succeeded(
    session: AsyncSession, invoice: Invoice, attempt: PaymentAttempt | None, now: datetime
) -> None:
    """The provider took a payment of the invoice: it is paid, unless already paid or voided."""
    if attempt is not None:
        attempt.outcome = PaymentOutcome.SUCCEEDED
        attempt.decline_code = None
        attempt.client_secret = None
    if invoice.status in PAYABLE or invoice.status is InvoiceStatus.PAYMENT_PENDING:
        invoice.failure_reason = None
        await mark_paid(session, invoice, now)


def payment_failed(invoice: Invoice, attempt: PaymentAttempt, failure_code: str | None) -> bool:
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
