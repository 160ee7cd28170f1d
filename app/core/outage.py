"""The database unreachable: 503 `service_unavailable` with `Retry-After`, never a 500.

Whatever the driver (asyncpg, aiosqlite) or the pool raises when it cannot reach the
database, or loses a connection mid-request, becomes one `ServiceUnavailable`, on every
route. It is answered by the app's exception middleware like any other problem, so the
client keeps its connection and nothing logs a traceback: one warning line names the cause.
Any other database error is left to the unexpected-error handler (a bug: 500).
"""

import logging
from types import TracebackType

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from app.core.errors import ServiceUnavailable, render

logger = logging.getLogger("billing.db")

# Modules whose OSErrors are the database's: a refused or reset socket, a DNS failure, a
# connect timeout. The same errors from elsewhere (a file, the payment provider) are not.
_DATABASE_MODULES = ("sqlalchemy.", "asyncpg.", "aiosqlite.", "sqlite3")
_LOST_CONNECTION = ("ConnectionDoesNotExistError", "ConnectionFailureError")


def _raised_by_database(traceback: TracebackType | None) -> bool:
    while traceback is not None:
        module = traceback.tb_frame.f_globals.get("__name__", "")
        if isinstance(module, str) and module.startswith(_DATABASE_MODULES):
            return True
        traceback = traceback.tb_next
    return False


def _unavailable(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError):
        # OperationalError / InterfaceError: PEP 249's "the database, not the statement"
        # (SQLite's "unable to open database file", a closed asyncpg connection).
        return error.connection_invalidated or isinstance(
            error, sa_exc.OperationalError | sa_exc.InterfaceError
        )
    if isinstance(error, sa_exc.TimeoutError):
        # No connection free in the pool in time.
        return True
    if type(error).__name__ in _LOST_CONNECTION and type(error).__module__.startswith("asyncpg"):
        return True
    return isinstance(error, OSError) and _raised_by_database(error.__traceback__)


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` (or what caused it) means the database cannot be reached or was lost."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if _unavailable(current):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _first_line(error: BaseException) -> str:
    cause = error.orig if isinstance(error, sa_exc.DBAPIError) and error.orig else error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


async def _outage_handler(_request: Request, error: Exception) -> JSONResponse:
    if not database_unavailable(error):
        # Not an outage: the unexpected-error handler answers 500 and logs it, as before.
        raise error
    logger.warning(
        "database unavailable: %s: %s",
        type(error).__name__,
        _first_line(error),
        extra={"error_type": type(error).__name__},
    )
    return outage_response()


def outage_response() -> JSONResponse:
    """The answer while the database cannot be reached: 503 with `Retry-After`."""
    return render(ServiceUnavailable("The database is not reachable; retry later."))


def install_outage_handlers(app: FastAPI) -> None:
    """Answer database outages with 503, whichever layer of the driver reports them."""
    for error_type in (sa_exc.DBAPIError, sa_exc.TimeoutError, OSError):
        app.add_exception_handler(error_type, _outage_handler)
