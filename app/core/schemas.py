"""Base classes and field types shared by every domain's schemas."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

# RFC 3339 in UTC, as the contract shows: 2026-11-25T10:00:00Z. Stored values are aware UTC
# datetimes, which pydantic-core writes with a "Z" natively (fast: lists write many); a naive
# one is refused, never written without its offset.
UtcDatetime = AwareDatetime


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# Input timestamps must carry an offset; they are compared, stored and echoed in UTC.
InputDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]

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
