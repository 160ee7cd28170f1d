from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Protocol, TypeVar

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base
from app.models.columns import AccountId, SerialId, partial_index, project_of_account, str_enum


class InvoiceStatus(StrEnum):
    PAYMENT_PENDING = "payment_pending"
    PAID = "paid"
    PAYMENT_DUE = "payment_due"
    NOT_PAID = "not_paid"
    VOIDED = "voided"


class PaymentOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    NO_PAYMENT_METHOD = "no_payment_method"
    # The bank asked for the cardholder (3-D Secure); the payment waits for the challenge.
    REQUIRES_ACTION = "requires_action"


# The invoice a line or a payment attempt belongs to, and goes with.
InvoiceId = Annotated[str, mapped_column(String(40), ForeignKey("invoices.id", ondelete="CASCADE"))]


class _HasOutcome(Protocol):
    @property
    def outcome(self) -> "PaymentOutcome": ...


_Attempt = TypeVar("_Attempt", bound=_HasOutcome)


def awaiting_authentication(status: InvoiceStatus, attempts: Sequence[_Attempt]) -> _Attempt | None:
    """The attempt whose payment waits for the cardholder's challenge, if the invoice is still
    unpaid. Only the latest attempt can: a new charge first settles the one before. For ORM
    attempts and for light rows alike (`attempts` in order)."""
    if status not in (InvoiceStatus.PAYMENT_DUE, InvoiceStatus.NOT_PAID) or not attempts:
        return None
    latest = attempts[-1]
    # `==`: a light row may carry the outcome as its string value.
    return latest if latest.outcome == PaymentOutcome.REQUIRES_ACTION else None


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        project_of_account("fk_invoices_project", ondelete="RESTRICT"),
        UniqueConstraint("account_id", "number"),
        # Keyset pagination walks these newest-first for every filter combination the
        # contract offers, so the deepest page reads as few rows as the first.
        Index("ix_invoices_account_created", "account_id", "created_at", "id"),
        Index(
            "ix_invoices_account_project_created", "account_id", "project_id", "created_at", "id"
        ),
        Index("ix_invoices_account_status_created", "account_id", "status", "created_at", "id"),
        # The collection worker's queue: only invoices with a retry scheduled.
        partial_index(
            "ix_invoices_next_payment_attempt",
            "next_payment_attempt",
            where="next_payment_attempt IS NOT NULL",
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[AccountId]
    project_id: Mapped[str] = mapped_column(String(64))
    project_name: Mapped[str] = mapped_column(String(200))
    number: Mapped[str | None] = mapped_column(String(32), default=None)
    status: Mapped[InvoiceStatus] = mapped_column(str_enum(InvoiceStatus, "invoice_status"))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int] = mapped_column(Integer)
    tax: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    amount_paid: Mapped[int] = mapped_column(Integer, default=0)
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    created_at: Mapped[datetime]
    finalized_at: Mapped[datetime | None] = mapped_column(default=None)
    due_date: Mapped[datetime | None] = mapped_column(default=None)
    paid_at: Mapped[datetime | None] = mapped_column(default=None)
    voided_at: Mapped[datetime | None] = mapped_column(default=None)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    # Automatic retries already made: the position in BILLING_RETRY_SCHEDULE.
    retries_made: Mapped[int] = mapped_column(Integer, default=0)
    next_payment_attempt: Mapped[datetime | None] = mapped_column(default=None)
    failure_reason: Mapped[str | None] = mapped_column(String(64), default=None)
    billing_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    lines: Mapped[list["InvoiceLine"]] = relationship(
        lazy="raise",
        order_by="InvoiceLine.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    payment_attempts: Mapped[list["PaymentAttempt"]] = relationship(
        lazy="raise",
        order_by="PaymentAttempt.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def amount_due(self) -> int:
        return self.total - self.amount_paid

    @property
    def is_draft(self) -> bool:
        return self.finalized_at is None

    @property
    def awaiting_authentication(self) -> "PaymentAttempt | None":
        """See `awaiting_authentication`; needs `payment_attempts` loaded."""
        return awaiting_authentication(self.status, self.payment_attempts)


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)

    id: Mapped[SerialId]
    invoice_id: Mapped[InvoiceId]
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_amount: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(Integer)


class PaymentAttempt(Base):
    """One charge of an invoice, kept forever: the history a user sees on the invoice."""

    __tablename__ = "payment_attempts"
    __table_args__ = (Index("ix_payment_attempts_invoice_id", "invoice_id"),)

    id: Mapped[SerialId]
    invoice_id: Mapped[InvoiceId]
    attempted_at: Mapped[datetime]
    card_id: Mapped[str | None] = mapped_column(String(40), default=None)
    card_last4: Mapped[str | None] = mapped_column(String(4), default=None)
    amount: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[PaymentOutcome] = mapped_column(str_enum(PaymentOutcome, "payment_outcome"))
    decline_code: Mapped[str | None] = mapped_column(String(64), default=None)
    # Sent to the provider with the charge: a re-run of the same attempt after a crash finds
    # the provider's earlier answer instead of charging again.
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)
    provider_payment_id: Mapped[str | None] = mapped_column(String(255), default=None)
    # The payment's client secret while the provider may still take it (it waits for the
    # cardholder's challenge, or failed it and is not withdrawn yet); cleared once it is over.
    client_secret: Mapped[str | None] = mapped_column(String(255), default=None)
