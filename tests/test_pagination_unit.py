"""Keyset cursors and page splitting, without HTTP."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.core.errors import ValidationFailed
from app.core.pagination import Cursor, paginate


@dataclass
class Row:
    created_at: datetime
    id: str


class TestCursor:
    def test_round_trips_its_position(self):
        moment = datetime(2026, 11, 25, 10, 0, 1, tzinfo=UTC)
        decoded = Cursor.decode(Cursor(moment, "in_1").encode())
        assert (decoded.created_at, decoded.id) == (moment, "in_1")

    def test_is_url_safe_and_unpadded(self):
        encoded = Cursor(datetime(2026, 1, 1, tzinfo=UTC), "in_???>>>").encode()
        assert not {"=", "+", "/"} & set(encoded)

    def test_an_offset_is_read_back_in_utc(self):
        moment = datetime(2026, 11, 25, 12, 0, tzinfo=timezone(timedelta(hours=2)))
        decoded = Cursor.decode(Cursor(moment, "in_1").encode())
        assert decoded.created_at == moment
        assert decoded.created_at.utcoffset() == timedelta(0)

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "not-base64!",
            Cursor(datetime(2026, 1, 1), "in_1").encode(),  # a naive time
            "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwxXQ",  # ["2026-…", 1]: the id is no string
            "eyJhIjoxfQ",  # {"a": 1}
        ],
    )
    def test_anything_else_is_a_validation_error_on_cursor(self, value):
        with pytest.raises(ValidationFailed) as caught:
            Cursor.decode(value)
        assert [problem.field for problem in caught.value.errors] == ["cursor"]


class TestPaginate:
    def rows(self, count: int) -> list[Row]:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        return [Row(start - timedelta(minutes=n), f"in_{n}") for n in range(count)]

    def test_a_short_fetch_is_the_last_page(self):
        page, has_more, next_cursor = paginate(self.rows(3), 3)
        assert (len(page), has_more, next_cursor) == (3, False, None)

    def test_the_extra_row_means_more_and_the_cursor_points_after_the_page(self):
        rows = self.rows(4)
        page, has_more, next_cursor = paginate(rows, 3)
        assert page == rows[:3]
        assert has_more
        assert next_cursor is not None
        cursor = Cursor.decode(next_cursor)
        assert (cursor.created_at, cursor.id) == (rows[2].created_at, rows[2].id)
