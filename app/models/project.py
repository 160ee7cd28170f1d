from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.models.columns import AccountId


class Project(Base):
    """A project registered by the platform; its id is the platform's, unique per account."""

    __tablename__ = "projects"
    __table_args__ = (
        Index("ix_projects_account_id_created_at_id", "account_id", "created_at", "id"),
    )

    account_id: Mapped[AccountId] = mapped_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
