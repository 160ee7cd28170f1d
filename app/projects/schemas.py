from typing import Annotated

from fastapi import Path
from pydantic import Field

from app.core.pagination import Page
from app.core.schemas import PLATFORM_ID_PATTERN, InputSchema, Schema, UtcDatetime

# Ids chosen by the platform, checked where the platform names them (the admin routes).
AccountIdPath = Annotated[
    str,
    Path(
        pattern=PLATFORM_ID_PATTERN,
        description="The platform's account id: 1-64 characters of [A-Za-z0-9_.:-].",
        examples=["acct_42"],
    ),
]
ProjectIdPath = Annotated[
    str,
    Path(
        pattern=PLATFORM_ID_PATTERN,
        description="The platform's project id, unique per account: 1-64 characters of "
        "[A-Za-z0-9_.:-].",
        examples=["proj_web_shop"],
    ),
]


class ProjectUpsert(InputSchema):
    name: str = Field(
        min_length=1,
        max_length=200,
        description="Shown on the project's invoices.",
        examples=["Web shop"],
    )


class Project(Schema):
    id: str = Field(examples=["proj_web_shop"])
    account_id: str = Field(examples=["acct_42"])
    name: str = Field(examples=["Web shop"])
    created_at: UtcDatetime
    updated_at: UtcDatetime


class ProjectList(Page[Project]):
    """The account's projects, newest first."""
