from datetime import datetime

from sqlalchemy import Index
from sqlalchemy.orm import Mapped

from app.core.db import Base
from app.models.columns import AccountId, SerialId


class CardAddAttempt(Base):
    """One attempt to add a card (or to start saving one with a setup intent), whatever its
    outcome: the card-add rate limit counts these per account over a sliding window."""

    __tablename__ = "card_add_attempts"
    __table_args__ = (
        Index("ix_card_add_attempts_account_id_attempted_at", "account_id", "attempted_at"),
    )

    id: Mapped[SerialId]
    account_id: Mapped[AccountId]
    attempted_at: Mapped[datetime]
