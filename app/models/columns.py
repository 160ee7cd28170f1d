"""Column and constraint shapes that mean the same thing in several tables, declared once."""

from enum import StrEnum
from typing import Annotated

from sqlalchemy import Enum, ForeignKey, ForeignKeyConstraint, Index, Integer, String, text
from sqlalchemy.orm import mapped_column

# The account a row belongs to: deleting the account deletes the row.
AccountId = Annotated[str, mapped_column(String(64), ForeignKey("accounts.id", ondelete="CASCADE"))]
# A row's own number, given by the database.
SerialId = Annotated[int, mapped_column(Integer, primary_key=True, autoincrement=True)]


def str_enum(enum: type[StrEnum], name: str) -> Enum:
    """A `StrEnum` column stored as its values in a VARCHAR(20), not a native enum type."""
    return Enum(
        enum,
        native_enum=False,
        length=20,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
        name=name,
    )


def partial_index(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """An index of the rows for which `where` holds, on SQLite and PostgreSQL alike."""
    return Index(
        name, *columns, unique=unique, sqlite_where=text(where), postgresql_where=text(where)
    )


def project_of_account(name: str, ondelete: str) -> ForeignKeyConstraint:
    """`project_id` names one of the row's own account's projects (project ids are only
    unique per account)."""
    return ForeignKeyConstraint(
        ["account_id", "project_id"],
        ["projects.account_id", "projects.id"],
        ondelete=ondelete,
        name=name,
    )
