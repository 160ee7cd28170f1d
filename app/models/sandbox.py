from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class SandboxChargeStatus(StrEnum):
    """A sandbox charge's status: its PaymentIntent's, as far as the sandbox plays one."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"
    CANCELED = "canceled"


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
    # When the bank asks the cardholder to authenticate (3-D Secure): `on_setup`, `always`,
    # or None for never (`app.sandbox.testcards.Authentication`).
    authentication: Mapped[str | None] = mapped_column(String(16), default=None)
    # Saved by a succeeded off-session setup intent: charges made without the cardholder are
    # authorized (Stripe's rule for a card that asks only when it is saved).
    set_up_off_session: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
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
    status: Mapped[str] = mapped_column(String(32), server_default=SandboxChargeStatus.SUCCEEDED)
    client_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    customer_id: Mapped[str | None] = mapped_column(String(255), default=None)
    invoice_id: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime]


class SandboxSetupIntent(Base):
    """A sandbox setup intent: a card being saved to a customer, 3-D Secure included.

    `status` holds `app.payments.provider.SetupStatus` values.
    """

    __tablename__ = "sandbox_setup_intents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_secret: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    payment_method_id: Mapped[str | None] = mapped_column(String(40), default=None)
    last_error: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime]
