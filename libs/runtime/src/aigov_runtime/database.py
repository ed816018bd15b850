"""Async SQLAlchemy plumbing: engines, the readiness check, a session dependency, and the
statements PostgreSQL and SQLite spell alike but SQLAlchemy builds per dialect.

PostgreSQL (asyncpg) in production, SQLite (aiosqlite) in the embedded mode and unit tests; the
same code path serves both, only engine options differ. `INSERT ... ON CONFLICT` is one of
them: `insert_ignore`, `upsert` and `excluded` build it for either, `insert_if_new` runs it for
one row, `insert_rows` runs any INSERT for many, and `table_of` is a model's Core table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
from fastapi import Request
from pydantic_core import to_json
from sqlalchemy import DateTime, Insert, Table, TypeDecorator, alias, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import DatabaseError, IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.elements import ColumnElement, KeyedColumnElement

from aigov_runtime.health import ReadinessCheck

__all__ = [
    "UtcDateTime",
    "copy_rows",
    "create_engine",
    "create_sessionmaker",
    "database_check",
    "dialect_name",
    "excluded",
    "insert_if_new",
    "insert_ignore",
    "insert_rows",
    "session_dependency",
    "table_of",
    "upsert",
]

SessionT = TypeVar("SessionT", bound=AsyncSession)

# Writers wait this long for SQLite's single write lock instead of failing at once.
_SQLITE_BUSY_TIMEOUT_MS = 5000


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL keeps `timestamptz` aware; SQLite stores text without the offset and hands
    naive datetimes back, which would reach API answers as times without a zone. Values are
    stored in UTC and always read back UTC-aware; a naive value is refused on the way in,
    since nothing could tell which zone it meant.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store in UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use UTC-aware ones")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read back as UTC-aware."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets readers (API) and the writer (consumer) proceed concurrently.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        # With WAL, NORMAL is durable across application crashes and much faster than FULL.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _json_text(value: Any) -> str:
    """JSON columns' text: pydantic-core's serializer, not `json.dumps`.

    The same JSON values `json.dumps` writes, compact and in UTF-8 (NaN and Infinity as
    their constants, so a value PostgreSQL refuses is still refused), at a fraction of the
    CPU: JSON parameters were a tenth of the tiering consumer's profile.
    """
    return to_json(value, inf_nan_mode="constants").decode()


def create_engine(url: str | URL, *, schema: str | None = None, **options: Any) -> AsyncEngine:
    """An async engine for `url`; SQLite gets its directory created and WAL mode enabled.

    `schema` is the service's own PostgreSQL schema: every connection's `search_path` is set
    to it, so a service's tables (and its Alembic version table) never meet another
    service's, even in one database. SQLite files are per service already and ignore it.
    """
    parsed = make_url(url)
    options.setdefault("json_serializer", _json_text)
    if schema is not None and parsed.get_backend_name() == "postgresql":
        connect_args = options.setdefault("connect_args", {})
        connect_args.setdefault("server_settings", {})["search_path"] = schema
    if parsed.get_backend_name() == "sqlite":
        if (path := _sqlite_file(parsed)) is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, **options)
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        return engine
    # Connections die behind our back (failovers, idle timeouts in proxies): test before use.
    options.setdefault("pool_pre_ping", True)
    return create_async_engine(parsed, **options)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine` whose objects stay readable after commit (no lazy reload on access)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def database_check(engine: AsyncEngine) -> ReadinessCheck:
    """A readiness check that succeeds when `SELECT 1` runs on `engine`."""

    async def check() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    return check


def session_dependency(
    sessionmaker_of: Callable[[Request], async_sessionmaker[SessionT]],
) -> Callable[[Request], AsyncIterator[SessionT]]:
    """A FastAPI dependency yielding a session that commits on success and rolls back on error.

    `sessionmaker_of` finds the sessionmaker for a request (typically in lifespan state:
    `lambda request: request.state.sessionmaker`). Declare it with
    `Depends(dependency, scope="function")` so the commit happens before the response is sent:
    a client must never see success for a transaction that then fails to commit.
    """

    async def dependency(request: Request) -> AsyncIterator[SessionT]:
        async with sessionmaker_of(request)() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            else:
                await session.commit()

    return dependency


def table_of(model: type[Any]) -> Table:
    """The Core table of a SQLModel (or declarative) class, for column access like `T.c.name`.

    The ORM sets `__table__` when it maps the class, so type checkers cannot see it; this is
    the one place that reads it.
    """
    table = getattr(model, "__table__", None)
    if not isinstance(table, Table):
        raise TypeError(f"{model!r} is not mapped to a table")
    return table


def dialect_name(session: AsyncSession) -> str:
    """The name of the database dialect `session` runs on: "postgresql" or "sqlite"."""
    return session.get_bind().dialect.name


def _insert(table: Table, backend: AsyncSession | str) -> postgresql.Insert | sqlite.Insert:
    name = backend if isinstance(backend, str) else dialect_name(backend)
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"INSERT ... ON CONFLICT is not built for the {name} dialect")


def insert_ignore(table: Table, backend: AsyncSession | str) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING: a row that would break a unique key is left out.

    `backend` is the session the statement runs in, or its dialect's name (to build a
    statement once per dialect and cache it).
    """
    return _insert(table, backend).on_conflict_do_nothing()


def upsert(
    table: Table,
    backend: AsyncSession | str,
    *,
    keys: Sequence[str],
    update: Mapping[str, Any],
    where: ColumnElement[bool] | None = None,
) -> Insert:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET update [WHERE where].

    `update` maps column names to their new values; `excluded(table)` names the values the
    statement proposed. Where `where` is false the existing row stays as it is.
    `backend` as for `insert_ignore`.
    """
    return _insert(table, backend).on_conflict_do_update(
        index_elements=list(keys), set_=dict(update), where=where
    )


def excluded(table: Table) -> ReadOnlyColumnCollection[str, KeyedColumnElement[Any]]:
    """The row an upsert into `table` proposed, as columns: `excluded(t).name` in `update`.

    Typed and quoted like `table`'s own columns; PostgreSQL and SQLite both call it `excluded`.
    """
    return alias(table, name="excluded").c


async def insert_if_new(session: AsyncSession, table: Table, values: Mapping[str, Any]) -> bool:
    """Insert one row unless it breaks a unique key (an existing row is kept); True if inserted."""
    result: Any = await session.execute(insert_ignore(table, session).values(dict(values)))
    return bool(result.rowcount == 1)


async def insert_rows(
    session: AsyncSession, statement: Insert, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Run one INSERT (plain, `insert_ignore` or `upsert`, without VALUES) for all of `rows`.

    The rows are bound to one prepared statement, which the driver runs for each (asyncpg
    sends them as one pipelined batch; SQLite runs them in-process), so the compiled statement
    is cached whatever the batch size, and no statement carries more bound parameters than one
    row has: SQLite's cap per statement (SQLITE_MAX_VARIABLE_NUMBER, 32766 by default) never
    applies, so nothing is chunked. No rows, no statement: SQLAlchemy would otherwise run the
    INSERT once without parameters, a row of defaults (deprecated in 2.1, an error later).
    """
    if rows:
        await session.execute(statement, list(rows))


async def copy_rows(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append `rows` to `table` in the session's transaction, as a plain INSERT of each would.

    On PostgreSQL the rows go in by one COPY on the session's own connection: for an
    append-only table written in batches (the ledger) that is about half the database's
    work of a prepared INSERT per row. Values pass through each column type's bind
    processing first (JSON is printed, UTC times normalised), as in an INSERT. Every row
    has the first row's columns. A broken constraint fails the statement, as an INSERT
    would. Elsewhere (SQLite) this is `insert_rows` of a plain INSERT.
    """
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql":
        await insert_rows(session, table.insert(), rows)
        return
    names = list(rows[0])
    columns: list[list[Any]] = []
    for name in names:
        # Column by column: one map() per column instead of a Python call per value.
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        values = [row[name] for row in rows]
        columns.append(values if process is None else list(map(process, values)))
    records = list(zip(*columns, strict=True))
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    if not driver.is_in_transaction():
        # SQLAlchemy's asyncpg adapter sends BEGIN with the first statement; a COPY before
        # any would commit on its own, outside the caller's transaction.
        await connection.execute(text("SELECT 1"))
    statement = f"COPY {table.fullname} ({', '.join(names)}) FROM STDIN"
    try:
        await driver.copy_records_to_table(
            table.name, records=records, columns=names, schema_name=table.schema
        )
    except asyncpg.IntegrityConstraintViolationError as exc:
        # The driver's own error, as SQLAlchemy would have raised it for an INSERT.
        raise IntegrityError(statement, None, exc) from exc
    except asyncpg.PostgresError as exc:
        raise DatabaseError(statement, None, exc) from exc
