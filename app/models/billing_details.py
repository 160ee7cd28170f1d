from datetime import datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class BillingDetails(Base):
    """An account's default billing details (`project_id` NULL) or one project's override."""

    __tablename__ = "billing_details"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "project_id"],
            ["projects.account_id", "projects.id"],
            ondelete="CASCADE",
            name="fk_billing_details_project",
        ),
        Index(
            "uq_billing_details_account_default",
            "account_id",
            unique=True,
            sqlite_where=text("project_id IS NULL"),
            postgresql_where=text("project_id IS NULL"),
        ),
        Index(
            "uq_billing_details_project",
            "account_id",
            "project_id",
            unique=True,
            sqlite_where=text("project_id IS NOT NULL"),
            postgresql_where=text("project_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("accounts.id", ondelete="CASCADE")
    )
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
