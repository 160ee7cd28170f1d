"""The `BillingError` base and its one RFC 9457 problem+json rendering.

Every error the API can answer with is a `BillingError` subclass with a stable `code` and
HTTP `status`. The generic ones are here; each domain declares its own in its `errors.py`.
Services raise them, one handler renders them, and routes list them in `responses=` (through
`app.core.openapi.error_responses`) so that the OpenAPI document shows each one.
"""

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.request_context import current_request_id

logger = logging.getLogger("billing.errors")

PROBLEM_JSON = "application/problem+json"


class FieldProblem(BaseModel):
    field: str = Field(examples=["address.country"])
    message: str = Field(examples=["Not an ISO 3166-1 alpha-2 country code."])
    type: str = Field(examples=["invalid"])


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(examples=["urn:problem:billing:card_not_found"])
    title: str = Field(examples=["Card not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["No card card_8Zt2bXkq3 on this account."])
    code: str = Field(examples=["card_not_found"])
    request_id: str | None = Field(examples=["9f1c2d3e4b5a69788796a5b4c3d2e1f0"])
    errors: list[FieldProblem] | None = None


class BillingError(Exception):
    """An error the API answers with. A subclass declares its problem in its class line:
    `class CardNotFound(NotFound, code="card_not_found")`; what it
    leaves out (here `status`) it inherits."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"
    # The body's schema in the OpenAPI document: `Problem`, or one with extension members.
    problem_model: ClassVar[type[Problem]] = Problem
    # Seconds a client is asked to wait before it retries, sent as `Retry-After`; None: none.
    retry_after: int | None = None

    def __init_subclass__(
        cls,
        *,
        code: str | None = None,
        title: str | None = None,
        status: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = code or cls.code
        # The title defaults to the code in words: `card_not_found` is "Card not found".
        cls.title = title or (code.replace("_", " ").capitalize() if code else cls.title)
        cls.status = status or cls.status

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.title
        super().__init__(self.detail)

    @property
    def problem_code(self) -> str:
        return self.code

    @property
    def problem_title(self) -> str:
        return self.title

    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}

    def field_errors(self) -> list[FieldProblem] | None:
        return None

    @classmethod
    def documented_problems(cls) -> tuple[tuple[str, str], ...]:
        """The (code, title) pairs this class can answer with, for the OpenAPI document."""
        return ((cls.code, cls.title),)

    def extensions(self) -> dict[str, Any]:
        """RFC 9457 extension members this problem adds to its body."""
        return {}


def problem_type(code: str) -> str:
    return f"urn:problem:billing:{code}"


class ValidationFailed(BillingError, status=422, code="validation_error"):
    """Fields missing or invalid: each one is named in the problem's `errors`."""

    def __init__(self, errors: list[FieldProblem], detail: str | None = None) -> None:
        self.errors = errors
        fields = ", ".join(error.field for error in errors)
        super().__init__(detail or f"Invalid or missing fields: {fields}.")

    def field_errors(self) -> list[FieldProblem] | None:
        return self.errors


class Unauthenticated(
    BillingError, status=401, code="unauthenticated", title="Authentication required"
):
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(BillingError, status=403, code="forbidden"):
    """Authenticated, but not allowed to do this."""


class NotFound(BillingError, status=404, code="not_found"):
    """The base of every domain's "no such …": they keep 404 and name their own code."""


class Conflict(BillingError, status=409, code="conflict"):
    """The base of every "not in this state": the resource's state refuses the request."""


class InternalError(BillingError, status=500, code="internal_error", title="Internal server error"):
    """What an unexpected exception answers with; the exception itself is only logged."""


class InvalidJson(BillingError, status=400, code="invalid_json", title="Invalid JSON"):
    """A body that is not JSON at all, as opposed to JSON with wrong fields (422)."""


class PayloadTooLarge(BillingError, status=413, code="payload_too_large"):
    """A request body over the size limit."""


# How long a client is asked to wait before it retries a 503.
RETRY_AFTER_SECONDS = 5


class ServiceUnavailable(BillingError, status=503, code="service_unavailable"):
    """Something the service depends on (its database) does not answer: retry later."""

    retry_after = RETRY_AFTER_SECONDS


# Starlette's own HTTP errors (unknown route, wrong method, …), in the same problem terms.
_HTTP_CODES = {
    error.status: (error.code, error.title)
    for error in (Unauthenticated, Forbidden, NotFound, PayloadTooLarge)
} | {
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    415: ("unsupported_media_type", "Unsupported media type"),
}


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": current_request_id(),
    }
    if errors is not None:
        body["errors"] = [error.model_dump() for error in errors]
    body.update(extensions or {})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def render(error: BillingError) -> JSONResponse:
    return problem_response(
        status=error.status,
        code=error.problem_code,
        title=error.problem_title,
        detail=error.detail,
        errors=error.field_errors(),
        headers=error.headers(),
        extensions=error.extensions(),
    )


def _field_name(loc: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts) or "body"


def validation_problems(errors: list[Any]) -> list[FieldProblem]:
    return [
        FieldProblem(
            field=_field_name(tuple(error.get("loc", ()))),
            message=str(error.get("msg", "Invalid value.")),
            type=str(error.get("type", "invalid")),
        )
        for error in errors
    ]


async def _billing_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BillingError)
    return render(exc)


def _not_json(errors: list[Any]) -> InvalidJson | None:
    """The problem when the body is not JSON at all, rather than JSON with wrong fields."""
    for error in errors:
        if error.get("type") == "json_invalid":
            reason = error.get("ctx", {}).get("error", "malformed")
            position = error.get("loc", ("body", "?"))[-1]
            return InvalidJson(f"The body is not valid JSON: {reason} at character {position}.")
        if tuple(error.get("loc", ())) == ("body",) and isinstance(error.get("input"), bytes):
            # Sent without a JSON Content-Type: FastAPI hands the raw bytes to the model.
            return InvalidJson("Send the body as JSON, with Content-Type: application/json.")
    return None


async def _validation_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    not_json = _not_json(errors)
    if not_json is not None:
        return render(not_json)
    return render(ValidationFailed(validation_problems(errors)))


async def _http_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's only 400: a JSON body it could not decode (e.g. not UTF-8).
        return render(InvalidJson("The body is not valid JSON: it is not UTF-8 text."))
    code, title = _HTTP_CODES.get(exc.status_code, ("http_error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem_response(
        status=exc.status_code,
        code=code,
        title=title,
        detail=detail,
        headers=dict(exc.headers or {}),
    )


async def _unexpected_handler(_request: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled error", exc_info=exc)
    response = render(InternalError("An unexpected error occurred; it has been logged."))
    # Starlette answers unhandled errors outside the app's middleware, so the request-id
    # middleware never sees this response.
    request_id = current_request_id()
    if request_id is not None:
        response.headers["X-Request-ID"] = request_id
    return response


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BillingError, _billing_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(Exception, _unexpected_handler)
