"""Engine creation (SQLite directory + WAL), the readiness check, the session dependency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from aigov_runtime.app import build_service_app
from aigov_runtime.database import (
    UtcDateTime,
    create_engine,
    create_sessionmaker,
    database_check,
    session_dependency,
)
from aigov_runtime.settings import ServiceSettings
from aigov_runtime.testing import app_client


@pytest.mark.asyncio
class TestEngine:
    async def test_sqlite_gets_its_directory_and_wal(self, tmp_path: Path) -> None:
        path = tmp_path / "nested" / "dir" / "aigov.sqlite3"
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            async with engine.connect() as connection:
                mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
                foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one()
        finally:
            await engine.dispose()
        assert path.exists()
        assert (mode, foreign_keys) == ("wal", 1)

    async def test_check_passes_on_a_working_database(self, tmp_path: Path) -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'ok.sqlite3'}")
        try:
            await database_check(engine)()
        finally:
            await engine.dispose()

    async def test_check_raises_when_the_database_is_unusable(self, tmp_path: Path) -> None:
        # A directory where the database file should be: SQLite cannot open it.
        (tmp_path / "db").mkdir()
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db'}", poolclass=NullPool)
        try:
            with pytest.raises(Exception, match="unable to open"):
                await database_check(engine)()
        finally:
            await engine.dispose()


def sessionmaker_of(request: Request) -> async_sessionmaker[AsyncSession]:
    """The sessionmaker the lifespan put in state."""
    maker: async_sessionmaker[AsyncSession] = request.state.sessionmaker
    return maker


# Module level: route annotations are resolved from module globals.
Session = Annotated[AsyncSession, Depends(session_dependency(sessionmaker_of), scope="function")]


def ledger_router() -> APIRouter:
    """Writes a row, then fails on demand after the write."""
    router = APIRouter()

    @router.post("/entries/{value}")
    async def add(value: str, session: Session, fail: bool = False) -> dict[str, str]:
        await session.execute(text("INSERT INTO entries (value) VALUES (:value)"), {"value": value})
        if fail:
            raise HTTPException(status_code=409, detail="conflict after write")
        return {"value": value}

    @router.get("/entries")
    async def entries(session: Session) -> list[str]:
        rows = await session.execute(text("SELECT value FROM entries ORDER BY value"))
        return [str(row[0]) for row in rows]

    return router


@pytest.mark.asyncio
async def test_session_commits_on_success_and_rolls_back_on_error(tmp_path: Path) -> None:
    settings = ServiceSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite3'}")

    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, object]]:
        engine = create_engine(settings.database_url)
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE entries (value TEXT PRIMARY KEY)"))
        try:
            yield {"engine": engine, "sessionmaker": create_sessionmaker(engine)}
        finally:
            await engine.dispose()

    app = build_service_app(
        service="test",
        title="t",
        version="0",
        settings=settings,
        readiness_checks={},
        lifespan=asynccontextmanager(lifespan),
        routers=[ledger_router()],
    )
    async with app_client(app) as client:
        assert (await client.post("/entries/kept")).status_code == 200
        assert (await client.post("/entries/dropped", params={"fail": "true"})).status_code == 409
        assert (await client.get("/entries")).json() == ["kept"]


@pytest.mark.asyncio
class TestUtcDateTime:
    """SQLite keeps no offset: without the decorator, times come back naive."""

    @staticmethod
    def table() -> Table:
        return Table(
            "moments",
            MetaData(),
            Column("id", Integer, primary_key=True),
            Column("at", UtcDateTime()),
        )

    async def test_a_time_in_any_zone_comes_back_as_the_same_instant_in_utc(
        self, tmp_path: Path
    ) -> None:
        moments = self.table()
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'moments.sqlite3'}")
        paris = datetime(2026, 11, 26, 10, 30, tzinfo=timezone(timedelta(hours=1)))
        try:
            async with engine.begin() as connection:
                await connection.run_sync(moments.metadata.create_all)
                await connection.execute(
                    insert(moments), [{"id": 1, "at": paris}, {"id": 2, "at": None}]
                )
                rows = (await connection.execute(select(moments).order_by(moments.c.id))).all()
                later = (
                    await connection.execute(
                        select(moments.c.id).where(
                            moments.c.at > datetime(2026, 11, 26, 9, 29, tzinfo=UTC)
                        )
                    )
                ).scalars()
                matched = list(later)
        finally:
            await engine.dispose()
        assert rows[0].at == paris
        assert rows[0].at.tzinfo is UTC
        assert rows[0].at.hour == 9
        assert rows[1].at is None
        # Comparisons see UTC on both sides, whatever zone the bound value was in.
        assert matched == [1]

    async def test_a_naive_time_is_refused(self, tmp_path: Path) -> None:
        moments = self.table()
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'moments.sqlite3'}")
        try:
            async with engine.begin() as connection:
                await connection.run_sync(moments.metadata.create_all)
                with pytest.raises(StatementError, match="naive datetimes"):
                    await connection.execute(
                        insert(moments), {"id": 1, "at": datetime(2026, 11, 26, 10, 30)}
                    )
        finally:
            await engine.dispose()
