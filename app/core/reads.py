"""Hot reads: Core SELECTs compiled once, run as the driver's own prepared statements.

SQLAlchemy's execution of a statement already compiled and cached still costs more CPU than
asyncpg's round trip for it: the execution context, the cursor adaptor, the result object and
a processor per column and row (a card list: 0.55 ms of CPU in all, 0.42 ms without it). On
PostgreSQL the hot reads therefore take the statement as SQLAlchemy compiled it for the
dialect, once, and run it with asyncpg on the connection SQLAlchemy's pool checked out.
asyncpg prepares it once per connection and decodes the values as the engine would: JSON with
the engine's parser (the dialect installs it on every connection), timestamps as aware UTC.
Enum columns come back as their string values, which equal the `StrEnum` members.

Other databases (SQLite), and statements SQLAlchemy completes at execution (expanding `IN`
lists), run through SQLAlchemy as before. Either way the rows are read alike: by attribute
and with `_asdict()`. `Reader` is the one way a hot read runs.
"""

from collections import namedtuple
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from asyncpg.exceptions import (
    InterfaceError,
    InternalClientError,
    OperatorInterventionError,
    PostgresConnectionError,
)
from sqlalchemy import CompoundSelect, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

# The one driver whose connections take a compiled statement as is.
_DRIVER = "asyncpg"

Statement = Select[Any] | CompoundSelect[Any]
# A row of a hot read: SQLAlchemy's `Row` or a named tuple, read by attribute and `_asdict()`.
LightRow = Any


@dataclass(frozen=True, slots=True)
class _DriverForm:
    sql: str
    # The statement's parameters in their positions ($1, $2, …), and the values it binds itself.
    names: tuple[str, ...]
    bound: Mapping[str, Any]
    row: type[tuple[Any, ...]]


_forms: dict[Statement, _DriverForm | None] = {}


def _driver_form(statement: Statement, dialect: Dialect) -> _DriverForm | None:
    """The statement as asyncpg runs it, compiled on first use; None if it cannot be."""
    if statement in _forms:
        return _forms[statement]
    compiled = statement.compile(dialect=dialect)
    form = None
    if not compiled.has_out_parameters and "POSTCOMPILE" not in compiled.string:
        names = tuple(compiled.positiontup or ())
        columns = [str(column.key) for column in statement.selected_columns]
        form = _DriverForm(compiled.string, names, compiled.params, namedtuple("Row", columns))
    _forms[statement] = form
    return form


class Reader:
    """Where the hot reads run (the read engine): each statement on a connection of its own,
    checked out of the engine's pool and given back as soon as its rows are read.

    On PostgreSQL that is the pool's asyncpg connection itself, with no SQLAlchemy
    `Connection` around it: a read needs no transaction, and the wrapper's set-up (the read
    engine's isolation level among it) was a tenth of what an invoice request cost.
    """

    __slots__ = ("engine",)

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def all(self, statement: Statement, params: Mapping[str, Any]) -> Sequence[LightRow]:
        """Every row: named tuples of the statement's columns on PostgreSQL, SQLAlchemy's
        rows elsewhere."""
        dialect = self.engine.dialect
        form = _driver_form(statement, dialect) if dialect.driver == _DRIVER else None
        if form is None:
            async with self.engine.connect() as connection:
                return (await connection.execute(statement, params)).all()
        values = [params[name] if name in params else form.bound[name] for name in form.names]
        raw = await self.engine.raw_connection()
        driver = raw.driver_connection
        try:
            records = await driver.fetch(form.sql, *values)  # type: ignore[union-attr]
        except BaseException as error:
            # The connection may be gone, or mid-operation (a request cancelled while it
            # waited): it never goes back to the pool, whatever the error.
            await greenlet_spawn(raw.invalidate)
            if isinstance(error, Exception) and _connection_lost(error, driver):
                # As SQLAlchemy does when it loses a connection: the pool's older ones are
                # dropped too (the database went away under all of them, most likely), and
                # the error is one the app knows as the database's (503, app/core/outage.py).
                await self.engine.dispose()
                lost = OperationalError(form.sql, None, error, connection_invalidated=True)
                raise lost from error
            raise
        finally:
            # Back to the pool (SQLAlchemy's check-in runs in its greenlet).
            await greenlet_spawn(raw.close)
        return [form.row(*record) for record in records]


def _connection_lost(error: Exception, driver: Any) -> bool:
    """Whether the connection is gone, or unusable: closed under the error (SQLAlchemy's
    `is_disconnect` rule for asyncpg), a socket error, the server ending it, or the protocol
    left mid-operation (a query sent as the server's goodbye came in)."""
    if driver.is_closed():
        return True
    return isinstance(
        error, OSError | PostgresConnectionError | OperatorInterventionError | InternalClientError
    ) or (isinstance(error, InterfaceError) and "connection is closed" in str(error))
