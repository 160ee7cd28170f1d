"""Invoice events for the platform, recorded in the transaction that changes the invoice."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.events import service as events
from app.events.types import EventType
from app.invoices import repository
from app.invoices.schemas import Invoice as InvoiceView
from app.models import Invoice


async def announce(
    session: AsyncSession, invoice: Invoice, event_type: EventType, now: datetime
) -> None:
    """Record `event_type` with the invoice as the API shows it at this point of the change."""
    await session.flush()
    await repository.load_detail(session, invoice)
    await events.record(session, event_type, invoice.account_id, InvoiceView.build(invoice), now)
