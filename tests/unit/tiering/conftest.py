"""Tiering in its embedded mode: SQLite and the embedded bus under tmp_path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from aigov_tiering.settings import Settings
from tests.unit.tiering.harness import RunningTiering, running_tiering, token_settings


def embedded_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings of a tiering service on SQLite + the embedded bus in `tmp_path`."""
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'tiering.sqlite3'}",
        "bus": "embedded",
        "embedded_bus_path": tmp_path / "bus.sqlite3",
        "shutdown_timeout_seconds": 5,
        **token_settings(),
    }
    values.update(overrides)
    return Settings(**values)


@pytest_asyncio.fixture
async def tiering(tmp_path: Path) -> AsyncIterator[RunningTiering]:
    """A started embedded tiering service."""
    async with running_tiering(embedded_settings(tmp_path)) as running:
        yield running
