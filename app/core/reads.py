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
and with `_asdict()`.
"""

from collections import namedtuple
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from asyncpg.exceptions import (
    InterfaceError,
    OperatorInterventionError,
    PostgresConnectionError,
)
from sqlalchemy import CompoundSelect, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

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


async def fetch_all(
    connection: AsyncConnection, statement: Statement, params: Mapping[str, Any]
) -> Sequence[LightRow]:
    """Every row of a hot read: named tuples of the statement's columns on PostgreSQL,
    SQLAlchemy's rows elsewhere."""
    if connection.dialect.driver != _DRIVER:
        return (await connection.execute(statement, params)).all()
    form = _driver_form(statement, connection.dialect)
    if form is None:
        return (await connection.execute(statement, params)).all()
    raw = await connection.get_raw_connection()
    values = [params[name] if name in params else form.bound[name] for name in form.names]
    try:
        records = await raw.driver_connection.fetch(form.sql, *values)  # type: ignore[union-attr]
    except Exception as error:
        if not _connection_lost(error):
            raise
        # What SQLAlchemy does when it loses a connection: this one and the pool's older
        # ones are dropped (the database went away under all of them, most likely), and the
        # error is one the app knows as the database's (answered 503, app/core/outage.py).
        await connection.invalidate()
        await connection.engine.dispose()
        raise OperationalError(form.sql, None, error, connection_invalidated=True) from error
    return [form.row(*record) for record in records]


def _connection_lost(error: Exception) -> bool:
    """asyncpg's ways of saying the connection is gone (SQLAlchemy's `is_disconnect` rule for
    this driver): a socket error, the server ending it, or a connection found closed."""
    if isinstance(error, OSError | PostgresConnectionError | OperatorInterventionError):
        return True
    return isinstance(error, InterfaceError) and "connection is closed" in str(error)
