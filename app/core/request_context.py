"""Per-request values that logs and error bodies need without threading them through calls."""

from contextvars import ContextVar, Token

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


# The request's Idempotency-Key, made unique to its caller (see `app.idempotency`): calls to
# the payment provider derive their own idempotency keys from it.
_idempotency_key: ContextVar[str | None] = ContextVar("idempotency_key", default=None)


def current_idempotency_key() -> str | None:
    return _idempotency_key.get()


def set_idempotency_key(value: str | None) -> Token[str | None]:
    return _idempotency_key.set(value)


def reset_idempotency_key(token: Token[str | None]) -> None:
    _idempotency_key.reset(token)
