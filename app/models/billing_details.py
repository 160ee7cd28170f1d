from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.models.columns import AccountId, SerialId, partial_index, project_of_account


class BillingDetails(Base):
    """An account's default billing details (`project_id` NULL) or one project's override."""

    __tablename__ = "billing_details"
    __table_args__ = (
        project_of_account("fk_billing_details_project", ondelete="CASCADE"),
        partial_index(
            "uq_billing_details_account_default",
            "account_id",
            where="project_id IS NULL",
            unique=True,
        ),
        partial_index(
            "uq_billing_details_project",
            "account_id",
            "project_id",
            where="project_id IS NOT NULL",
            unique=True,
        ),
    )

    id: Mapped[SerialId]
    account_id: Mapped[AccountId]
    project_id: Mapped[str | None] = mapped_column(String(64), default=None)
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    line1: Mapped[str | None] = mapped_column(String(200), default=None)
    line2: Mapped[str | None] = mapped_column(String(200), default=None)
    city: Mapped[str | None] = mapped_column(String(100), default=None)
    postal_code: Mapped[str | None] = mapped_column(String(20), default=None)
    state: Mapped[str | None] = mapped_column(String(100), default=None)
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    vat_id: Mapped[str | None] = mapped_column(String(32), default=None)
    # BCP 47; NULL reads as "en".
    preferred_locale: Mapped[str | None] = mapped_column(String(35), default=None)
    updated_at: Mapped[datetime]
