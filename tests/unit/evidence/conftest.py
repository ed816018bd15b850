"""Evidence in its embedded mode: SQLite files and the embedded bus under tmp_path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_evidence.app import MIGRATIONS
from aigov_evidence.settings import Settings
from aigov_runtime.database import create_engine, create_sessionmaker
from aigov_runtime.migrations import upgrade_to_head
from tests.unit.evidence.harness import AUTH_TOKENS, Harness, serve


def embedded_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings of an evidence service on SQLite + the embedded bus in `tmp_path`."""
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'evidence.sqlite3'}",
        "bus": "embedded",
        "embedded_bus_path": tmp_path / "bus.sqlite3",
        "evidence_dev_signing_key_path": tmp_path / "signing-key.pem",
        "evidence_checkpoint_interval_seconds": 0,
        "evidence_waiver_sweep_interval_seconds": 0,
        "shutdown_timeout_seconds": 5,
        "auth_tokens": AUTH_TOKENS,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    """A migrated SQLite database URL."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite3'}"
    upgrade_to_head(MIGRATIONS, database_url=url, schema=None)
    return url


@pytest_asyncio.fixture
async def sessionmaker(sqlite_db: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the migrated SQLite database."""
    engine = create_engine(sqlite_db)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest_asyncio.fixture
async def evidence(tmp_path: Path) -> AsyncIterator[Harness]:
    """The evidence app with its ledger consumer, on SQLite and the embedded bus."""
    async with serve(embedded_settings(tmp_path)) as harness:
        yield harness
