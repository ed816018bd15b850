"""The set-based projections on PostgreSQL: whatever the batch cuts, the result of one at a time.

The histories and the check are the SQLite unit test's (`tests/unit/evidence/projection_histories.py`);
here they run on the real server, in a migrated schema of the test's own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import text

from aigov_evidence.app import MIGRATIONS
from aigov_evidence.ledger import LedgerEntry
from aigov_runtime.database import create_engine, create_sessionmaker
from aigov_runtime.migrations import upgrade_to_head
from tests.unit.evidence import projection_histories as ph
from tests.unit.evidence.test_projections import cut_histories

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def schema(local_stack: Any) -> Iterator[tuple[str, str]]:
    """A migrated evidence schema of this module's own: (database URL, schema)."""
    name = f"evidence_proj_{uuid.uuid4().hex[:8]}"
    upgrade_to_head(MIGRATIONS, database_url=local_stack.postgres_url, schema=name)
    yield local_stack.postgres_url, name

    async def drop() -> None:
        engine = create_engine(local_stack.postgres_url)
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        await engine.dispose()

    asyncio.run(drop())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cut_histories())
def test_batch_cuts_do_not_change_the_projections(
    schema: tuple[str, str], case: tuple[list[LedgerEntry], list[int]]
) -> None:
    url, name = schema
    history, cuts = case

    async def check() -> None:
        engine = create_engine(url, schema=name)
        try:
            one_by_one, batched = await ph.same_whatever_the_cuts(
                create_sessionmaker(engine), history, cuts
            )
        finally:
            await engine.dispose()
        assert batched == one_by_one

    asyncio.run(check())
