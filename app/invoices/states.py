"""Invoice statuses: the state machine, and the moves every path shares.

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

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.observability import count_invoice_transition, log_event
from app.events.types import EventType
from app.invoices.announce import announce
from app.models import Invoice, InvoiceStatus

VOIDABLE = frozenset(
    {InvoiceStatus.PAYMENT_PENDING, InvoiceStatus.PAYMENT_DUE, InvoiceStatus.NOT_PAID}
)
PAYABLE = frozenset({InvoiceStatus.PAYMENT_DUE, InvoiceStatus.NOT_PAID})
OPEN = frozenset({InvoiceStatus.PAYMENT_PENDING, InvoiceStatus.PAYMENT_DUE})


def move(invoice: Invoice, status: InvoiceStatus) -> None:
    if invoice.status is status:
        return
    count_invoice_transition(invoice.status.value, status.value)
    invoice.status = status


async def mark_paid(session: AsyncSession, invoice: Invoice, now: datetime) -> None:
    move(invoice, InvoiceStatus.PAID)
    invoice.amount_paid = invoice.total
    invoice.paid_at = now
    invoice.next_payment_attempt = None
    log_event(
        session, "invoice.paid", invoice_id=invoice.id, number=invoice.number, amount=invoice.total
    )
    await announce(session, invoice, EventType.INVOICE_PAID, now)
