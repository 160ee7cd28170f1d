from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class SandboxPaymentMethod(Base):
    """A payment method made by the offline sandbox provider.

    Like a Stripe PaymentMethod, it keeps the card's public facts and how the test card
    behaves, never its number or CVC.
    """

    __tablename__ = "sandbox_payment_methods"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    brand: Mapped[str] = mapped_column(String(20))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int] = mapped_column(Integer)
    exp_year: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    attach_decline_code: Mapped[str | None] = mapped_column(String(64), default=None)
    charge_decline_code: Mapped[str | None] = mapped_column(String(64), default=None)
    customer_id: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime]


class SandboxCharge(Base):
    """A sandbox charge, keyed like Stripe's idempotency keys: a replay returns the first answer."""

    __tablename__ = "sandbox_charges"

    idempotency_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    payment_method_id: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    decline_code: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime]
