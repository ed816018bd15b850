"""The set-based projections on SQLite: whatever the batch cuts, the result of one at a time.

The same property on PostgreSQL: `tests/integration/evidence/test_projections_postgres.py`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigov_evidence.app import MIGRATIONS
from aigov_evidence.ledger import LedgerEntry
from aigov_evidence.projections import steps
from aigov_runtime.database import create_engine, create_sessionmaker
from aigov_runtime.migrations import upgrade_to_head
from tests.unit.evidence import projection_histories as ph


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite database, shared by the examples (each starts by emptying it)."""
    path: Path = tmp_path_factory.mktemp("projections") / "evidence.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade_to_head(MIGRATIONS, database_url=url, schema=None)
    return url


@st.composite
def cut_histories(draw: st.DrawFn) -> tuple[list[LedgerEntry], list[int]]:
    history = draw(ph.histories())
    return history, ph.cuts_of(draw, len(history))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cut_histories())
def test_batch_cuts_do_not_change_the_projections(
    database: str, case: tuple[list[LedgerEntry], list[int]]
) -> None:
    history, cuts = case

    async def check() -> None:
        engine = create_engine(database)
        try:
            one_by_one, batched = await ph.same_whatever_the_cuts(
                create_sessionmaker(engine), history, cuts
            )
        finally:
            await engine.dispose()
        assert batched == one_by_one

    asyncio.run(check())


def test_a_batch_costs_a_statement_per_change_of_kind_not_per_event() -> None:
    history = [ph.entry("registered", f"sys-{n}", 0, n, "owner") for n in range(500)]
    history += [ph.entry("tier", f"sys-{n}", 0, n, "aigov-tiering") for n in range(500)]
    history += [ph.entry("gate", f"sys-{n}", 1, n, "ci") for n in range(500)]
    planned = steps(history)
    # Three kinds, each row changed by each kind once: three steps of one statement.
    assert [[len(params) for params in step.values()] for step in planned] == [[500], [500], [500]]


def test_an_entry_refuses_a_payload_of_another_type() -> None:
    tier = ph.entry("tier", "sys-a", 0, 0, "aigov-tiering")
    with pytest.raises(ValueError, match=r"its payload is a io\.aigov\.tier\.assigned"):
        LedgerEntry(
            event_id=tier.event_id,
            event_type="io.aigov.system.retired.v1",
            system_id=tier.system_id,
            version=None,
            time=tier.time,
            actor=tier.actor,
            source=tier.source,
            attributes=tier.attributes,
            payload=tier.payload,
            typed=tier.typed,
        )


def test_a_projected_type_without_its_payload_is_refused() -> None:
    tier = ph.entry("tier", "sys-a", 0, 0, "aigov-tiering")
    bare = LedgerEntry(
        event_id=tier.event_id,
        event_type=tier.event_type,
        system_id=tier.system_id,
        version=None,
        time=tier.time,
        actor=tier.actor,
        source=tier.source,
        attributes={},
        payload=None,
        typed=None,
    )
    with pytest.raises(ValueError, match="has no payload"):
        steps([bare])
