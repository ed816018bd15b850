"""The ledger on SQLite (the embedded mode): once per event id, chained, append-only, verifiable."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.message import DomainEvent
from aigov_evidence.chain import GENESIS_HASH
from aigov_evidence.consumers import record_batch
from aigov_evidence.ledger import entry_from_event
from aigov_evidence.models import LEDGER, RELEASES, SYSTEMS, ReleaseView, SystemView
from aigov_evidence.rebuild import rebuild_projections
from aigov_evidence.verification import verify
from tests.unit.evidence import events as ev

pytestmark = pytest.mark.asyncio

Sessions = async_sessionmaker[AsyncSession]
SYSTEM = "ledger-unit"


def history() -> list[DomainEvent[Any]]:
    return [
        ev.registered(SYSTEM),
        ev.high_tier(SYSTEM),
        ev.evaluation(SYSTEM, ev.request_body("evaluation.json")),
        ev.approval(SYSTEM),
        ev.artifact(SYSTEM, ev.request_body("artifact.json")),
    ]


async def record(sessionmaker: Sessions, events: list[DomainEvent[Any]]) -> int:
    return len(await record_batch(sessionmaker, [entry_from_event(e) for e in events]))


async def count(sessionmaker: Sessions) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(LEDGER)) or 0)


class TestAppend:
    async def test_events_are_chained_per_system(self, sessionmaker: Sessions) -> None:
        other = ev.registered("other-system")
        assert await record(sessionmaker, [*history(), other]) == 6
        async with sessionmaker() as session:
            rows = (
                await session.execute(
                    select(
                        LEDGER.c.system_id, LEDGER.c.sequence, LEDGER.c.prev_hash, LEDGER.c.hash
                    ).order_by(LEDGER.c.id)
                )
            ).all()
            assert [(r.system_id, r.sequence) for r in rows] == [
                *[(SYSTEM, n) for n in range(1, 6)],
                ("other-system", 1),
            ]
            assert rows[0].prev_hash == GENESIS_HASH
            assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows[:5]))
            assert (await verify(session, SYSTEM)).ok

    async def test_replays_and_duplicates_in_a_batch_add_nothing(
        self, sessionmaker: Sessions
    ) -> None:
        events = history()
        assert await record(sessionmaker, [*events, events[0]]) == 5
        assert await record(sessionmaker, events) == 0
        assert await count(sessionmaker) == 5

    async def test_the_first_non_decision_actor_submits_the_release(
        self, sessionmaker: Sessions
    ) -> None:
        approval_first = ev.approval(SYSTEM)
        await record(sessionmaker, [approval_first, *history()[2:3]])
        async with sessionmaker() as session:
            release = await session.get(ReleaseView, (SYSTEM, ev.VERSION))
        assert release is not None
        assert release.submitter == ev.SUBMITTER


class TestAppendOnly:
    @pytest.mark.parametrize(
        "statement", ["UPDATE ledger SET actor = 'mallory'", "DELETE FROM ledger"]
    )
    async def test_sqlite_triggers_refuse_changes(
        self, sessionmaker: Sessions, statement: str
    ) -> None:
        await record(sessionmaker, history())
        with pytest.raises(IntegrityError, match="append-only"):
            async with sessionmaker() as session, session.begin():
                await session.execute(text(statement))
        assert await count(sessionmaker) == 5

    async def test_a_change_behind_the_services_back_is_reported(
        self, sessionmaker: Sessions
    ) -> None:
        await record(sessionmaker, history())
        async with sessionmaker() as session, session.begin():
            await session.execute(text("DROP TRIGGER ledger_no_update"))
            await session.execute(
                text(
                    "UPDATE ledger SET version = '9.9.9', payload = json_set(payload, '$.version', '9.9.9') WHERE sequence = 4"
                )
            )
        async with sessionmaker() as session:
            result = await verify(session, SYSTEM)
        assert not result.ok
        assert result.broken_at == 4
        assert result.reason is not None
        assert "altered" in result.reason


class TestProjections:
    async def test_rebuild_reproduces_the_projections(self, sessionmaker: Sessions) -> None:
        await record(sessionmaker, history())
        await record(sessionmaker, [ev.prompt_template_changed(SYSTEM)])

        async def snapshot() -> list[tuple[Any, ...]]:
            async with sessionmaker() as session:
                rows = await session.execute(select(SYSTEMS))
                releases = await session.execute(select(RELEASES))
                return [tuple(r) for r in rows] + [tuple(r) for r in releases]

        live = await snapshot()
        async with sessionmaker() as session:
            system = await session.get(SystemView, SYSTEM)
        assert system is not None
        assert (system.manifest_revision, system.tier, system.lifecycle_status) == (
            2,
            "high",
            "active",
        )
        assert await rebuild_projections(sessionmaker) == 6
        assert await snapshot() == live

    async def test_an_older_revision_never_replaces_a_newer_one(
        self, sessionmaker: Sessions
    ) -> None:
        await record(sessionmaker, [ev.prompt_template_changed(SYSTEM), ev.registered(SYSTEM)])
        async with sessionmaker() as session:
            system = await session.get(SystemView, SYSTEM)
        assert system is not None
        assert system.manifest_revision == 2
