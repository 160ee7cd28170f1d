"""Engine, sessions and the one-transaction-per-request dependency."""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from fastapi import Depends, Request
from pydantic_core import from_json
from sqlalchemy import DateTime, MetaData, Table, event
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from app.core.config import Settings
from app.core.runtime import runtime_of

logger = logging.getLogger("billing.db")

_AFTER_COMMIT = "billing.after_commit"
_READ_METHODS = frozenset({"GET", "HEAD"})


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no timezone type and hands back naive values; normalising here keeps
    comparisons and keyset cursors identical on SQLite and PostgreSQL.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Make SQLite behave as a safe shared store for one process.

    pysqlite's own transaction handling is disabled so that every transaction starts with
    BEGIN IMMEDIATE: a transaction takes the write lock up front and waits for it
    (busy_timeout) instead of failing with "database is locked" when two requests that
    read first and write later overlap. This is SQLAlchemy's documented aiosqlite recipe.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(settings: Settings) -> AsyncEngine:
    # JSON columns (the billing snapshot every invoice summary carries) are parsed by
    # pydantic-core's parser: the same values as the standard library's, several times faster.
    if settings.is_sqlite:
        engine = create_async_engine(settings.database_url, json_deserializer=from_json)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        settings.database_url,
        # A fixed pool: overflow connections would be opened and closed under load, each
        # re-preparing its statements. No pre-ping either (three round trips a request);
        # connections are recycled instead, and a dead one fails its request and is dropped.
        pool_size=settings.database_pool_size,
        max_overflow=0,
        pool_recycle=1800,
        json_deserializer=from_json,
        # asyncpg waits 60 s for a server that drops packets silently; answer 503 sooner.
        connect_args={"timeout": 10},
    )


def dialect_name(db: AsyncSession | AsyncConnection) -> str:
    return (db.dialect if isinstance(db, AsyncConnection) else db.get_bind().dialect).name


def table_of(entity: type[Base]) -> Table:
    """The entity's table, for Core statements: an UPDATE or INSERT of the table itself
    skips the ORM's bookkeeping (no objects are loaded to keep in step)."""
    return entity.metadata.tables[str(entity.__tablename__)]


def upsert_insert_for(dialect: str, entity: type[Base]) -> PgInsert | SqliteInsert:
    """An INSERT for `dialect`, with its ON CONFLICT clauses available."""
    return pg_insert(entity) if dialect == "postgresql" else sqlite_insert(entity)


def upsert_insert(session: AsyncSession, entity: type[Base]) -> PgInsert | SqliteInsert:
    """An INSERT for the session's dialect, with its ON CONFLICT clauses available."""
    return upsert_insert_for(dialect_name(session), entity)


def create_read_engine(engine: AsyncEngine, settings: Settings) -> AsyncEngine:
    """The engine GET and HEAD requests read through: on PostgreSQL, without a transaction.

    A read needs none: each statement sees committed data, and the request saves the BEGIN
    and COMMIT round trips. The engine's AUTOCOMMIT variant is made once here rather than
    asked of every request's connection. (SQLite keeps its transaction: its BEGIN IMMEDIATE
    is what orders writers.)
    """
    if settings.is_sqlite:
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit: responses are serialised from them once the
    # transaction is over, and relationships are `lazy="raise"` so nothing reloads silently.
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def after_commit(session: AsyncSession, action: Callable[[], Awaitable[None]]) -> None:
    """Run `action` once the session's transaction has committed (see `run_after_commit`).

    For a call to a third party that must follow, never precede, a durable change here.
    Dropped if the transaction rolls back.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


async def run_after_commit(session: AsyncSession) -> None:
    """Run the actions `after_commit` registered, each in a transaction of its own.

    The change they follow is committed already and stays: a failing action is logged and
    leaves its repair to reconciliation; it is never reported as the request's failure.
    """
    actions: list[Callable[[], Awaitable[None]]] = session.info.pop(_AFTER_COMMIT, [])
    for action in actions:
        try:
            await action()
            await session.commit()
        except Exception:
            await session.rollback()
            logger.exception("an action after commit failed")


async def commit(session: AsyncSession) -> None:
    """Commit the session's transaction now, then run what `after_commit` registered."""
    await session.commit()
    await run_after_commit(session)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's only transaction: committed when the route succeeds, else rolled back.

    What `after_commit` registered runs once the commit is done. A service that must keep a
    fact even though it answers with an error (a declined charge) calls `commit` itself first.
    GET and HEAD requests get a session on the read engine (no transaction on PostgreSQL).
    """
    runtime = runtime_of(request)
    reading = request.method in _READ_METHODS
    async with (runtime.read_sessionmaker if reading else runtime.sessionmaker)() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            session.info.pop(_AFTER_COMMIT, None)
            raise
        else:
            await commit(session)


# scope="function" commits before the response is sent, so a failed commit is never
# reported to the client as a success.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
