"""Base classes and field types shared by every domain's schemas."""

from datetime import UTC, datetime
from functools import cache
from types import NoneType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.core.limits import CONTROL_CHARACTERS, CONTROL_CHARACTERS_REFUSED

# RFC 3339 in UTC, as the contract shows: 2026-11-25T10:00:00Z. Stored values are aware UTC
# datetimes, which pydantic-core writes with a "Z" natively (fast: lists write many), with
# their microseconds when they have any (2026-11-25T10:00:00.250000Z): what a client reads is
# exactly what is stored, compared and ordered by. A naive one is refused, never written
# without its offset.
UtcDatetime = AwareDatetime


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00:00+01:00 is a year before the first one datetimes hold.
        raise ValueError("out of range: in UTC it must fall within the years 1 to 9999") from None


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


def _is_integer_type(annotation: Any) -> bool:
    """`int` or `int | None`: the fields where a JSON string, float or boolean is refused."""
    if annotation is int:
        return True
    if get_origin(annotation) in (Union, UnionType):
        members = [member for member in get_args(annotation) if member is not NoneType]
        return members == [int]
    return False


@cache
def _integer_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        name for name, field in model.model_fields.items() if _is_integer_type(field.annotation)
    )


class InputSchema(BaseModel):
    """A request body: unknown fields are rejected, as the contract requires.

    Numbers are JSON numbers (`"5"`, `2.0` and `true` are not integers) and text carries no
    control characters (NUL included, which PostgreSQL cannot store), for every field of
    every body, checked here once rather than field by field.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _plain_json_values(cls, value: Any, info: ValidationInfo) -> Any:
        if (
            isinstance(value, bool | float | str)
            and info.field_name is not None
            and info.field_name in _integer_fields(cls)
        ):
            raise PydanticCustomError("int_type", "Input should be a valid integer")
        texts = value if isinstance(value, list) else (value,)
        if any(isinstance(text, str) and CONTROL_CHARACTERS.search(text) for text in texts):
            raise PydanticCustomError("string_control_characters", CONTROL_CHARACTERS_REFUSED)
        return value
