"""Engine creation (SQLite directory + WAL), the readiness check, the session dependency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from aigov_runtime.app import build_service_app
from aigov_runtime.database import (
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
