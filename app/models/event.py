"""The outbox of events to the platform, its webhook endpoints and the deliveries between them."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base
from app.models.columns import partial_index, str_enum

# SQLite numbers rows itself only for an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT.
_SEQUENCE = BigInteger().with_variant(Integer(), "sqlite")


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # not yet delivered: due at next_attempt_at
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # every scheduled attempt failed; only a redelivery sends it again


class Event(Base):
    """One change the platform learns of, written in the same transaction as the change."""

    __tablename__ = "events"
    __table_args__ = (
        # The event log's filters, each walked newest first.
        Index("ix_events_type_seq", "type", "seq"),
        Index("ix_events_account_id_seq", "account_id", "seq"),
    )

    # Commit order within the log: timestamps tie (two events of one transaction share
    # theirs), the sequence never does.
    seq: Mapped[int] = mapped_column(_SEQUENCE, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[str] = mapped_column(String(64))
    # The resource as the API showed it at the time of the change.
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class WebhookEndpoint(Base):
    """A URL of the platform's that receives the events it subscribes to."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_created_at_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    # Event types, or ["*"] for every type.
    events: Mapped[list[str]] = mapped_column(JSON)
    # The signing secret, encrypted with a key only the servers hold (app/events/secrets.py).
    encrypted_secret: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One event on its way to one endpoint: the queue the delivery workers share."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_event_seq", "event_seq"),
        Index("ix_webhook_deliveries_endpoint_id", "endpoint_id"),
        # The workers' queue: only what is still to be sent.
        partial_index("ix_webhook_deliveries_due", "next_attempt_at", where="status = 'pending'"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_seq: Mapped[int] = mapped_column(_SEQUENCE, ForeignKey("events.seq", ondelete="CASCADE"))
    endpoint_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus, "delivery_status"))
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    # Set while pending, null once succeeded or failed.
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]

    attempts: Mapped[list["WebhookDeliveryAttempt"]] = relationship(
        lazy="raise",
        order_by="WebhookDeliveryAttempt.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class WebhookDeliveryAttempt(Base):
    """One HTTP request of a delivery, kept as its log."""

    __tablename__ = "webhook_delivery_attempts"
    __table_args__ = (Index("ix_webhook_delivery_attempts_delivery_id", "delivery_id"),)

    id: Mapped[int] = mapped_column(_SEQUENCE, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempted_at: Mapped[datetime]
    # The endpoint's answer; null when none came (timeout, refused connection).
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    succeeded: Mapped[bool]
    # Why it failed, for the operator: "HTTP 500", "timeout", "connection refused".
    error: Mapped[str | None] = mapped_column(String(200), default=None)
