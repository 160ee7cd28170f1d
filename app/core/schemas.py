"""Base classes and field types shared by every domain's schemas."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer


def _rfc3339(value: datetime) -> str:
    # isoformat is several times cheaper than strftime, and lists format many timestamps.
    return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


# RFC 3339 UTC with second precision, as the contract shows: 2026-11-25T10:00:00Z.
UtcDatetime = Annotated[datetime, PlainSerializer(_rfc3339, return_type=str, when_used="json")]

# Input timestamps must carry an offset; they are compared and stored in UTC.
InputDatetime = AwareDatetime

# Account and project ids are chosen by the platform.
PLATFORM_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
PlatformId = Annotated[
    str, Field(pattern=PLATFORM_ID_PATTERN, min_length=1, max_length=64, examples=["acct_42"])
]


class Schema(BaseModel):
    """A response body, built from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class InputSchema(BaseModel):
    """A request body: unknown fields are rejected, as the contract requires."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
