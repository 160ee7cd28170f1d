from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class CardAddAttempt(Base):
    """One attempt to add a card (or to start saving one with a setup intent), whatever its
    outcome: the card-add rate limit counts these per account over a sliding window."""

    __tablename__ = "card_add_attempts"
    __table_args__ = (
        Index("ix_card_add_attempts_account_id_attempted_at", "account_id", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("accounts.id", ondelete="CASCADE")
    )
    attempted_at: Mapped[datetime]
