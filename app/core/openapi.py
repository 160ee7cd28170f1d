"""OpenAPI `responses=` for routes: every error a route can answer with, as problem+json."""

from collections import defaultdict
from copy import deepcopy
from typing import Any

from app.core.errors import (
    PROBLEM_JSON,
    BillingError,
    InvalidJson,
    PayloadTooLarge,
    Problem,
    ServiceUnavailable,
    ValidationFailed,
    problem_type,
)

# Every route can meet these: a validation error, and the database unreachable.
ALWAYS_POSSIBLE: tuple[type[BillingError], ...] = (ValidationFailed, ServiceUnavailable)
# And every route that takes a body, these.
BODY_ERRORS: tuple[type[BillingError], ...] = (InvalidJson, PayloadTooLarge)
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "examples": [5]},
    }
}


def error_responses(*errors: type[BillingError]) -> dict[int | str, dict[str, Any]]:
    """One entry per status, naming every code (the `ALWAYS_POSSIBLE` ones included)."""
    by_status: dict[int, list[tuple[str, str]]] = defaultdict(list)
    # A problem with extension members (`next_action`) is the body schema of its status.
    models: dict[int, type[Problem]] = {}
    listed = dict.fromkeys((*ALWAYS_POSSIBLE, *errors))
    for error in listed:
        by_status[error.status].extend(error.documented_problems())
        if error.problem_model is not Problem:
            models[error.status] = error.problem_model
    responses: dict[int | str, dict[str, Any]] = {}
    for status, problems in sorted(by_status.items()):
        description = "; ".join(f"`{code}`: {title}" for code, title in problems)
        code, title = problems[0]
        responses[status] = {
            "model": models.get(status, Problem),
            "description": description,
            "content": {
                PROBLEM_JSON: {
                    "example": {
                        "type": problem_type(code),
                        "title": title,
                        "status": status,
                        "detail": title + ".",
                        "code": code,
                        "request_id": "9f1c2d3e4b5a69788796a5b4c3d2e1f0",
                    }
                }
            },
        }
        if status == ServiceUnavailable.status:
            responses[status]["headers"] = _RETRY_AFTER
    return responses


def document_body_errors(document: dict[str, Any]) -> None:
    """Add `BODY_ERRORS` to every operation of an OpenAPI `document` that takes a body.

    Done once for the whole document, so that no route can forget them; a status an
    operation lists already gets their codes added to its description.
    """
    extra = {
        str(status): response
        for status, response in error_responses(*BODY_ERRORS).items()
        if status in {error.status for error in BODY_ERRORS}
    }
    for operations in document["paths"].values():
        for operation in operations.values():
            if "requestBody" not in operation:
                continue
            responses = operation.setdefault("responses", {})
            for status, response in extra.items():
                listed = responses.get(status)
                if listed is None:
                    content = deepcopy(response["content"])
                    content[PROBLEM_JSON]["schema"] = {
                        "$ref": f"#/components/schemas/{Problem.__name__}"
                    }
                    responses[status] = {"description": response["description"], "content": content}
                    continue
                missing = [
                    part
                    for part in response["description"].split("; ")
                    if part not in listed.get("description", "")
                ]
                if missing:
                    listed["description"] = "; ".join([listed["description"], *missing])
