"""`UtcDatetime`, the response timestamp: written as RFC 3339 UTC with a Z, never naive."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from app.core.schemas import Schema, UtcDatetime


class Stamped(Schema):
    at: UtcDatetime


def test_is_written_in_utc_with_a_z():
    moment = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert Stamped(at=moment).model_dump_json() == '{"at":"2026-11-25T10:00:00Z"}'


def test_keeps_its_fraction_of_a_second():
    moment = datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC)
    assert Stamped(at=moment).model_dump_json() == '{"at":"2026-11-25T10:00:00.123456Z"}'


def test_refuses_a_naive_datetime():
    with pytest.raises(ValidationError):
        Stamped(at=datetime(2026, 11, 25, 10, 0))
