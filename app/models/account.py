from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class Account(Base):
    """A platform account, created on its first authenticated request.

    The row is also the lock that serialises an account's card changes and the counter that
    numbers its invoices without gaps.
    """

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime]
    # Invoice numbers read `<invoice_prefix>-0001`, as Stripe's do.
    invoice_prefix: Mapped[str] = mapped_column(String(12))
    last_invoice_number: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Indexed: Stripe's setup_intent.succeeded webhook names the customer, not the account.
    provider_customer_id: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
