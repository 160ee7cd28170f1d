"""Keyset pagination: `limit` + opaque `cursor`, newest first, never OFFSET."""

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Self, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from app.core.errors import FieldProblem, ValidationFailed
from app.core.limits import CONTROL_CHARACTERS

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=100, description="Page size, 1 to 100.", examples=[20])]
CursorParam = Annotated[
    str | None,
    Query(description="Opaque cursor: the `next_cursor` of the previous page.", max_length=512),
]


class Page(BaseModel, Generic[T]):
    data: list[T]
    has_more: bool = Field(description="Whether another page follows this one.")
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")

    @classmethod
    def of(cls, rows: Sequence[Any], has_more: bool, next_cursor: str | None) -> Self:
        """The page of `rows` (ORM objects or light rows), validated in one call."""
        return cls.model_validate(
            {"data": rows, "has_more": has_more, "next_cursor": next_cursor}, from_attributes=True
        )


class Cursor:
    """Position after the last row of a page: its (created_at, id)."""

    __slots__ = ("created_at", "id")

    def __init__(self, created_at: datetime, id_: str) -> None:
        self.created_at = created_at
        self.id = id_

    def encode(self) -> str:
        raw = json.dumps([self.created_at.isoformat(), self.id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> "Cursor":
        try:
            padded = value + "=" * (-len(value) % 4)
            created_at, id_ = json.loads(base64.urlsafe_b64decode(padded.encode()))
            moment = datetime.fromisoformat(created_at)
            if moment.tzinfo is None or not isinstance(id_, str) or CONTROL_CHARACTERS.search(id_):
                raise ValueError("bad cursor")
            moment = moment.astimezone(UTC)
        except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
            raise ValidationFailed(
                [
                    FieldProblem(
                        field="cursor", message="Not a cursor from next_cursor.", type="invalid"
                    )
                ]
            ) from exc
        return cls(moment, id_)


def after_cursor(
    created_at: InstrumentedAttribute[datetime],
    id_: InstrumentedAttribute[str],
    cursor: Cursor,
) -> ColumnElement[bool]:
    """Rows strictly older than the cursor in (created_at DESC, id DESC) order.

    A row-value comparison lets PostgreSQL walk the (…, created_at, id) index from the cursor,
    so page 1000 costs what page 1 costs.
    """
    return tuple_(created_at, id_) < tuple_(cursor.created_at, cursor.id)


def paginate(rows: Sequence[Any], limit: int) -> tuple[list[Any], bool, str | None]:
    """Split `limit + 1` fetched rows into (page, has_more, next_cursor)."""
    page = list(rows[:limit])
    has_more = len(rows) > limit
    next_cursor = Cursor(page[-1].created_at, page[-1].id).encode() if has_more else None
    return page, has_more, next_cursor
