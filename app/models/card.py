from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.models.columns import AccountId, partial_index


class Card(Base):
    """A card saved by an account: only what the provider tells us, never the number or CVC."""

    __tablename__ = "cards"
    __table_args__ = (
        UniqueConstraint("account_id", "fingerprint"),
        # The database itself refuses a second primary card for an account.
        partial_index(
            "uq_cards_one_primary_per_account", "account_id", where="is_primary", unique=True
        ),
        Index("ix_cards_account_id_created_at", "account_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[AccountId]
    provider_payment_method_id: Mapped[str] = mapped_column(String(255), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    brand: Mapped[str] = mapped_column(String(20))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int] = mapped_column(Integer)
    exp_year: Mapped[int] = mapped_column(Integer)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    # The expiry (year * 12 + month - 1) last announced by a `card.expiring` event: each
    # expiry is announced once, and a renewed card's new expiry again when it draws near.
    expiry_announced_for: Mapped[int | None] = mapped_column(Integer, default=None)
