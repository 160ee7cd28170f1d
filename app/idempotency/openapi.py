"""`Idempotency-Key` in the OpenAPI document: on every authenticated mutation, with the
409 and 422 it can answer."""

from typing import Any

from app.core.errors import PROBLEM_JSON, BillingError, problem_type
from app.idempotency.errors import IdempotencyKeyInUse, IdempotencyKeyReused

HEADER = "Idempotency-Key"
_MUTATING = ("post", "put", "patch", "delete")
PARAMETER: dict[str, Any] = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe. The first response to a key (per caller, for 24 h) is answered "
        "again, unchanged and with `Idempotent-Replayed: true`, to a repeat with the same "
        "method, path and body, which does nothing else. 5xx and 429 answers are not kept."
    ),
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        # Printable ASCII; no surrounding spaces, which HTTP would strip.
        "pattern": "^[!-~]([ -~]*[!-~])?$",
        "title": HEADER,
    },
}


def _mention(operation: dict[str, Any], error: type[BillingError]) -> None:
    responses = operation.setdefault("responses", {})
    status = str(error.status)
    problem = f"`{error.code}`: {error.title}"
    response = responses.get(status)
    if response is None:
        example = {
            "type": problem_type(error.code),
            "title": error.title,
            "status": error.status,
            "detail": error.title + ".",
            "code": error.code,
            "request_id": "9f1c2d3e4b5a69788796a5b4c3d2e1f0",
        }
        responses[status] = {
            "description": problem,
            "content": {
                PROBLEM_JSON: {
                    "schema": {"$ref": "#/components/schemas/Problem"},
                    "example": example,
                }
            },
        }
    elif problem not in response.get("description", ""):
        response["description"] = f"{response['description']}; {problem}"


def document_idempotency(schema: dict[str, Any]) -> None:
    """Add the header and its errors to the document (again: a no-op)."""
    for operations in schema["paths"].values():
        for method, operation in operations.items():
            # A route without a token (a provider's webhook) has no caller to keep keys for.
            if method not in _MUTATING or not operation.get("security"):
                continue
            parameters = operation.setdefault("parameters", [])
            if not any(parameter.get("name") == HEADER for parameter in parameters):
                parameters.append(PARAMETER)
            _mention(operation, IdempotencyKeyInUse)
            _mention(operation, IdempotencyKeyReused)
