"""Schemathesis over the whole OpenAPI document, against the app in process.

Every operation gets generated requests, valid ones and invalid ones (schemathesis's
positive and negative modes), with an account's token, or the platform's on
`/v1/admin/...`; each answer must be no server error, a status the operation documents,
and a body that matches the documented schema. Bounded: 30 examples per operation,
derandomized, so that it runs in `make test` (both databases) and always the same way.
"""

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python.asgi import shutdown_lifespans

from app.core.auth import issue_token
from app.core.config import Settings
from app.main import create_app
from tests.conftest import make_settings
from tests.invariants import NO_CARD_ADD_LIMIT

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

cases: Counter[str] = Counter()


@pytest.fixture(scope="module")
def schemathesis_settings(migrated: str) -> Settings:
    return make_settings(migrated, **NO_CARD_ADD_LIMIT)


@pytest.fixture(scope="module")
def schemathesis_app(schemathesis_settings: Settings) -> Iterator[FastAPI]:
    app = create_app(schemathesis_settings)
    yield app
    # Schemathesis runs the app (and its lifespan) on an event loop of its own; ending the
    # lifespan closes the app's database pool there.
    shutdown_lifespans()
    print(f"\nschemathesis: {sum(cases.values())} cases over {len(cases)} operations")


@pytest.fixture
def headers(schemathesis_settings: Settings) -> dict[str, dict[str, str]]:
    """Tokens of a new account for each operation: the app remembers the accounts it has
    made, and the suite empties the tables after every test."""
    account = f"acct_schemathesis_{len(cases)}"

    def bearer(admin: bool) -> dict[str, str]:
        now = datetime.now(UTC)
        token = issue_token(
            schemathesis_settings, account, now=now, ttl=timedelta(hours=2), admin=admin
        )
        return {"Authorization": f"Bearer {token}"}

    return {"user": bearer(False), "admin": bearer(True)}


# The document the app serves (a sandbox-mode app's; it needs no database to say it). The
# requests go to the module's app, on the suite's migrated database.
schema = schemathesis.openapi.from_dict(
    create_app(make_settings("sqlite+aiosqlite:///:memory:")).openapi()
)


@pytest.mark.sandbox_only
@hypothesis.settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@schema.parametrize()
def test_the_api_answers_as_its_openapi_says(
    case: Any, schemathesis_app: FastAPI, headers: dict[str, dict[str, str]]
) -> None:
    cases[f"{case.operation.method.upper()} {case.operation.path}"] += 1
    caller = headers["admin" if case.path.startswith("/v1/admin/") else "user"]
    case.call_and_validate(app=schemathesis_app, headers=caller, checks=CHECKS)
