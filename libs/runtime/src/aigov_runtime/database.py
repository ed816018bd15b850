"""Async SQLAlchemy plumbing: engine creation, the readiness check, a session dependency.

PostgreSQL (asyncpg) in production, SQLite (aiosqlite) in the embedded mode and unit tests; the
same code path serves both, only engine options differ.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy import DateTime, TypeDecorator, event, text
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from aigov_runtime.health import ReadinessCheck

__all__ = [
    "UtcDateTime",
    "create_engine",
    "create_sessionmaker",
    "database_check",
    "session_dependency",
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


def create_engine(url: str | URL, *, schema: str | None = None, **options: Any) -> AsyncEngine:
    """An async engine for `url`; SQLite gets its directory created and WAL mode enabled.

    `schema` is the service's own PostgreSQL schema: every connection's `search_path` is set
    to it, so a service's tables (and its Alembic version table) never meet another
    service's, even in one database. SQLite files are per service already and ignore it.
    """
    parsed = make_url(url)
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
