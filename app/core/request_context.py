"""Per-request values that logs and error bodies need without threading them through calls."""

from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_account_id: ContextVar[str | None] = ContextVar("account_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> None:
    _request_id.set(value)


def current_account_id() -> str | None:
    return _account_id.get()


def set_account_id(value: str | None) -> None:
    _account_id.set(value)
