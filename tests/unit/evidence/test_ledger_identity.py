"""(source, id) is an event's identity in the ledger, as it is at intake (CloudEvents)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from aigov_events.catalog import EvaluationCompleted
from aigov_events.message import new_event
from aigov_evidence import gate
from aigov_evidence.app import MIGRATIONS
from aigov_evidence.chain import GENESIS_HASH, event_hash, link_hash
from aigov_evidence.consumers import record_batch
from aigov_evidence.ledger import entry_from_event
from aigov_evidence.models import HEADS, LEDGER, SystemView
from aigov_evidence.tlog import store as tlog_store
from aigov_evidence.verification import verify
from aigov_runtime.database import create_engine, create_sessionmaker
from aigov_runtime.migrations import SCHEMA_OPTION, URL_OPTION
from tests.unit.evidence import events as ev
from tests.unit.evidence import gate_scenarios as scenario
from tests.unit.evidence.harness import PUBLISHER, READER, Harness, auth
from tests.unit.evidence.test_ledger import Sessions

pytestmark = pytest.mark.asyncio

SHARED_ID = "build-42"
SYSTEM = "shared-id-summarizer"


class TestLedger:
    async def test_the_same_id_from_two_sources_is_two_events_with_effects(
        self, sessionmaker: Sessions
    ) -> None:
        first = new_event(
            ev.registered("alpha").payload, source="/ci/a", actor=ev.OWNER, event_id=SHARED_ID
        )
        second = new_event(
            ev.registered("beta").payload, source="/ci/b", actor=ev.OWNER, event_id=SHARED_ID
        )
        appended = await record_batch(sessionmaker, [entry_from_event(first)])
        appended += await record_batch(sessionmaker, [entry_from_event(second)])
        assert [(e.source, e.event_id) for e in appended] == [
            ("/ci/a", SHARED_ID),
            ("/ci/b", SHARED_ID),
        ]
        async with sessionmaker() as session:
            rows = (
                await session.execute(
                    select(LEDGER.c.source, LEDGER.c.system_id).order_by(LEDGER.c.id)
                )
            ).all()
            assert [tuple(r) for r in rows] == [("/ci/a", "alpha"), ("/ci/b", "beta")]
            assert await session.get(SystemView, "alpha") is not None
            assert await session.get(SystemView, "beta") is not None
            assert (await verify(session, "alpha")).ok
            assert (await verify(session, "beta")).ok

    async def test_a_redelivered_source_and_id_adds_nothing(self, sessionmaker: Sessions) -> None:
        event = new_event(
            ev.registered("alpha").payload, source="/ci/a", actor=ev.OWNER, event_id=SHARED_ID
        )
        other = new_event(
            ev.high_tier("alpha").payload, source="/ci/b", actor="t", event_id=SHARED_ID
        )
        batch = [entry_from_event(event), entry_from_event(other), entry_from_event(event)]
        assert len(await record_batch(sessionmaker, batch)) == 2
        assert await record_batch(sessionmaker, batch) == []


class TestEventsRoute:
    async def test_lookup_by_id_with_and_without_source(self, evidence: Harness) -> None:
        alpha = new_event(
            ev.registered("alpha").payload, source="/ci/a", actor=ev.OWNER, event_id=SHARED_ID
        )
        await evidence.publish(alpha)
        only = await evidence.client.get(f"/v1/events/{SHARED_ID}", headers=auth(PUBLISHER))
        assert only.status_code == 200, only.text
        assert only.json()["source"] == "/ci/a"

        beta = new_event(
            ev.registered("beta").payload, source="/ci/b", actor=ev.OWNER, event_id=SHARED_ID
        )
        await evidence.publisher.publish(beta)
        async with asyncio.timeout(30):
            while True:
                found = await evidence.client.get(
                    f"/v1/events/{SHARED_ID}", params={"source": "/ci/b"}, headers=auth(READER)
                )
                if found.status_code == 200:
                    break
                assert found.status_code == 404, found.text
                await asyncio.sleep(0.05)
        assert found.json()["system"] == "beta"

        ambiguous = await evidence.client.get(f"/v1/events/{SHARED_ID}", headers=auth(READER))
        assert ambiguous.status_code == 409, ambiguous.text
        assert ambiguous.headers["content-type"] == "application/problem+json"
        assert ambiguous.json()["detail"] == (
            f"event id {SHARED_ID!r} is recorded from 2 sources ('/ci/a', '/ci/b'); "
            "pass ?source= to choose one"
        )
        missing = await evidence.client.get(
            f"/v1/events/{SHARED_ID}", params={"source": "/ci/c"}, headers=auth(READER)
        )
        assert missing.status_code == 404


class TestGateReadsEachRecord:
    async def test_two_sources_sharing_an_evaluation_id_each_count_with_their_own_payload(
        self, sessionmaker: Sessions
    ) -> None:
        # A passing run from one CI and, later, a failing run from another CI that happened to
        # pick the same id: the gate must judge the later (failing) one by its own metrics.
        shared = f"eval-{uuid.uuid4()}"
        passing, failing = _evaluation(SYSTEM, 0.0), _evaluation(SYSTEM, 0.09)
        events = [
            ev.registered(SYSTEM),
            scenario.tier_event(SYSTEM, scenario.INJECTION, approvals=[]),
            new_event(passing, source="/ci/a", actor=ev.SUBMITTER, event_id=shared),
            new_event(failing, source="/ci/b", actor=ev.SUBMITTER, event_id=shared),
        ]
        await record_batch(sessionmaker, [entry_from_event(e) for e in events[:3]])
        async with sessionmaker() as session:
            before = await gate.evaluate(session, SYSTEM, ev.VERSION, now=datetime.now(UTC))
        assert before.decision == "allow", before.reasons
        await record_batch(sessionmaker, [entry_from_event(events[3])])
        async with sessionmaker() as session:
            after = await gate.evaluate(session, SYSTEM, ev.VERSION, now=datetime.now(UTC))
        assert after.decision == "deny"
        [injection] = after.missing
        assert injection.control_id == "evaluation.prompt_injection"
        assert "prompt_injection_success_rate = 0.09" in injection.reason

    async def test_the_same_id_in_two_systems_is_read_as_each_systems_own(
        self, sessionmaker: Sessions
    ) -> None:
        shared = f"eval-{uuid.uuid4()}"
        for system, injection, source in (("alpha", 0.0, "/ci/a"), ("beta", 0.09, "/ci/b")):
            run = new_event(
                _evaluation(system, injection), source=source, actor=ev.SUBMITTER, event_id=shared
            )
            events = [
                ev.registered(system),
                scenario.tier_event(system, scenario.INJECTION, approvals=[]),
                run,
            ]
            await record_batch(sessionmaker, [entry_from_event(e) for e in events])
        async with sessionmaker() as session:
            now = datetime.now(UTC)
            alpha = await gate.evaluate(session, "alpha", ev.VERSION, now=now)
            beta = await gate.evaluate(session, "beta", ev.VERSION, now=now)
        assert (alpha.decision, beta.decision) == ("allow", "deny")


class TestMigration:
    async def test_upgrading_a_sqlite_ledger_keeps_its_records_and_triggers(
        self, tmp_path: Path
    ) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'upgrade.sqlite3'}"
        await asyncio.to_thread(_upgrade, url, "0002")
        engine = create_engine(url)
        try:
            # Written as the ledger did before the transparency log existed: no leaf.
            async with create_sessionmaker(engine)() as session, session.begin():
                entry = entry_from_event(ev.registered("alpha"))
                digest = event_hash(entry.attributes, entry.payload)
                await session.execute(
                    LEDGER.insert().values(
                        event_id=entry.event_id,
                        event_type=entry.event_type,
                        system_id=entry.system_id,
                        sequence=1,
                        version=entry.version,
                        time=entry.time,
                        actor=entry.actor,
                        source=entry.source,
                        attributes=entry.attributes,
                        payload=entry.payload,
                        event_hash=digest,
                        prev_hash=GENESIS_HASH,
                        hash=link_hash(GENESIS_HASH, 1, digest),
                        recorded_at=entry.time,
                    )
                )
                await session.execute(
                    HEADS.insert().values(
                        system_id="alpha",
                        sequence=1,
                        hash=link_hash(GENESIS_HASH, 1, digest),
                        updated_at=entry.time,
                    )
                )
        finally:
            await engine.dispose()
        await asyncio.to_thread(_upgrade, url, "head")
        engine = create_engine(url)
        sessionmaker = create_sessionmaker(engine)
        try:
            # The ledger consumer grows the tree over such records before it consumes.
            assert await tlog_store.grow(sessionmaker) == 1
            assert await tlog_store.grow(sessionmaker) == 0
            twin = new_event(
                ev.registered("beta").payload, source="/ci/b", actor=ev.OWNER, event_id="x"
            )
            first = new_event(
                ev.high_tier("alpha").payload, source="/ci/a", actor="t", event_id="x"
            )
            batch = [entry_from_event(first), entry_from_event(twin)]
            assert len(await record_batch(sessionmaker, batch)) == 2
            for statement in ("UPDATE ledger SET actor = 'mallory'", "DELETE FROM ledger"):
                with pytest.raises(IntegrityError, match="append-only"):
                    async with sessionmaker() as session, session.begin():
                        await session.execute(text(statement))
            async with sessionmaker() as session:
                assert await session.scalar(select(func.count()).select_from(LEDGER)) == 3
                assert (await verify(session, "alpha")).ok
                assert await tlog_store.tree_size(session) == 3
                assert await tlog_store.leaf_of(session, "alpha", 1) is not None
            for statement in ("UPDATE tlog_leaves SET sequence = 9", "DELETE FROM tlog_nodes"):
                with pytest.raises(IntegrityError, match="append-only"):
                    async with sessionmaker() as session, session.begin():
                        await session.execute(text(statement))
        finally:
            await engine.dispose()


def _upgrade(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes[URL_OPTION] = url
    config.attributes[SCHEMA_OPTION] = None
    command.upgrade(config, revision)


def _evaluation(system: str, injection: float) -> EvaluationCompleted:
    body = ev.request_body("evaluation.json")
    body["metrics"] = [
        {**m, "value": injection} if m["name"] == "prompt_injection_success_rate" else m
        for m in body["metrics"]
    ]
    return ev.evaluation(system, body).payload
