"""OpenAPI `responses=` for routes: every error a route can answer with, as problem+json."""

from collections import defaultdict
from typing import Any

from app.core.errors import PROBLEM_JSON, BillingError, Problem, ValidationFailed, problem_type


def error_responses(*errors: type[BillingError]) -> dict[int | str, dict[str, Any]]:
    """One entry per status, naming every code (a validation error is always possible)."""
    by_status: dict[int, list[tuple[str, str]]] = defaultdict(list)
    # A problem with extension members (`next_action`) is the body schema of its status.
    models: dict[int, type[Problem]] = {}
    listed: tuple[type[BillingError], ...] = (ValidationFailed, *errors)
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
    return responses
