"""Tiering's batch handler over a migrated database and a bus, and a lifecycle that exercises it.

Shared by the unit tests (SQLite + the embedded bus) and the integration tests (PostgreSQL
in a schema of its own + Kafka), so the same batches run on both.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aigov_events.bus import Bus
from aigov_events.catalog import ApprovalGranted, EventPayload, SystemRetired
from aigov_events.catalog.decisions import TierAssigned
from aigov_events.catalog.enums import ApprovalScope
from aigov_events.envelope import from_kafka_record
from aigov_events.message import DomainEvent, decode, new_event
from aigov_events.producer import Publisher
from aigov_events.testing import read_records
from aigov_events.topics import ALL_TOPICS, DECISIONS
from aigov_runtime.database import create_engine, create_sessionmaker
from aigov_runtime.migrations import upgrade_to_head
from aigov_tiering.app import MIGRATIONS
from aigov_tiering.consumers import TieringBatch
from aigov_tiering.handlers import Tiering
from aigov_tiering.models import metadata
from aigov_tiering.policy import PolicyPack, load_pack
from aigov_tiering.retier import retier_known_systems
from tests.unit.tiering.harness import approval, evaluation, registered, updated
from tests.unit.tiering.helpers import DEFAULT_PACK, default_pack, example_document, with_changes

SUMMARIZER = example_document("support-summarizer")
ASSISTANT = example_document("code-assistant")
SCREENER = example_document("resume-screener")

#: Columns stamped with the time of handling: they differ between any two runs.
_CLOCKS = {"updated_at", "approved_at", "recorded_at", "issued_at", "processed_at"}


class CountingPublisher(Publisher):
    """A publisher that remembers the size of each publish call."""

    def __init__(self, bus: Bus) -> None:
        super().__init__(bus)
        self.calls: list[int] = []

    async def publish_batch(self, events: Sequence[DomainEvent[Any]]) -> list[Any]:
        """Publish, and count the call."""
        self.calls.append(len(events))
        return await super().publish_batch(events)


@dataclass
class Store:
    """A migrated tiering database and a started bus, with the batch handler over them."""

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    bus: Bus
    tiering: Tiering
    publisher: CountingPublisher

    def handler(self) -> TieringBatch:
        """The consumer's batch handler (without the runner around it)."""
        return TieringBatch(self.sessionmaker, self.tiering)

    def under(self, pack: PolicyPack) -> Tiering:
        """What the handlers need, with another pack."""
        return Tiering(pack=pack, publisher=self.publisher)

    async def decisions(self, count: int, *, max_wait: float = 10) -> list[DomainEvent[Any]]:
        """The first `count` decisions published (at least), decoded."""
        records = await read_records(self.bus, [DECISIONS], count=count, max_wait=max_wait)
        return [decode(from_kafka_record(r.value, r.headers)) for r in records]

    async def rows(self, system_ids: Sequence[str] | None = None) -> dict[str, list[Any]]:
        """The rows of tiering's tables (of `system_ids`), without handling times, by key."""
        tables: dict[str, list[Any]] = {}
        async with self.sessionmaker() as session:
            for table in metadata.sorted_tables:
                tables[table.name] = await _rows(session, table, system_ids)
        return tables

    async def close(self) -> None:
        """Stop the bus, dispose of the engine."""
        await self.bus.stop()
        await self.engine.dispose()


async def _rows(
    session: AsyncSession, table: Table, system_ids: Sequence[str] | None
) -> list[dict[str, Any]]:
    query = select(table).order_by(*table.primary_key.columns)
    if system_ids is not None:
        if "system_id" not in table.c:
            return []  # processed events: about events, not systems
        query = query.where(table.c.system_id.in_(system_ids))
    result = await session.execute(query)
    return [{k: v for k, v in row._mapping.items() if k not in _CLOCKS} for row in result]


async def open_store(url: str, *, schema: str, bus: Bus, pack: PolicyPack) -> Store:
    """Migrate tiering's tables into `schema` of `url`, start `bus`: a store over them."""
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, database_url=url, schema=schema)
    engine = create_engine(url, schema=schema)
    await bus.start()
    await bus.ensure_topics(ALL_TOPICS)
    publisher = CountingPublisher(bus)
    return Store(
        engine, create_sessionmaker(engine), bus, Tiering(pack=pack, publisher=publisher), publisher
    )


def events(*payloads: EventPayload) -> list[DomainEvent[Any]]:
    """Lifecycle events as intake publishes them."""
    return [new_event(p, source="/aigov/intake/test", actor="ci-bot") for p in payloads]


def by_system(decisions: Sequence[DomainEvent[Any]]) -> dict[str, list[tuple[str, str, Any]]]:
    """Per system, in publication order: (event id, type, payload)."""
    out: dict[str, list[tuple[str, str, Any]]] = {}
    for decision in decisions:
        out.setdefault(decision.system_id, []).append(
            (decision.id, decision.type, decision.envelope.data)
        )
    return out


#: Decisions `history()` makes tiering publish.
HISTORY_DECISIONS = 13


def history_systems(suffix: str = "") -> list[str]:
    """The systems of `history(suffix)`."""
    return [f"{s}{suffix}" for s in ("support-summarizer", "code-assistant", "resume-screener")]


def history(suffix: str = "") -> list[DomainEvent[Any]]:
    """Three systems' interleaved lifecycle: every kind of event and every handler branch.

    `suffix` is appended to the system ids (for a database shared with other runs).
    """
    a, b, c = history_systems(suffix)
    summarizer = with_changes(SUMMARIZER, {"metadata.id": a})
    assistant = with_changes(ASSISTANT, {"metadata.id": b})
    a1 = registered(summarizer)
    unsafe = with_changes(summarizer, {"spec.genai.safetyFilters.policy": "none"})
    a2 = updated(unsafe, revision=2, previous=a1)
    a3 = updated(summarizer, revision=3, previous=a2)  # back to the approved fields
    a4 = updated(unsafe, revision=4, previous=a3)  # the same change again: new again
    a5 = updated(with_changes(unsafe, {"spec.purpose": "Summaries."}), revision=5, previous=a4)
    b1 = registered(assistant)
    b2 = updated(with_changes(assistant, {"spec.users.public": True}), revision=2, previous=b1)
    b3 = updated(assistant, revision=3, previous=b2)
    regressed = evaluation(
        a, version="2026.12.0", groundedness=0.80, prompt_injection_success_rate=0.03
    )
    return events(
        a1,
        b1,
        evaluation(a, groundedness=0.86, prompt_injection_success_rate=0.02),
        approval(a),
        b2,
        a2,
        registered(summarizer),  # a stale repeat of revision 1 (another event id)
        a3,
        a4,
        ApprovalGranted(
            system_id=a,
            version="2026.11.3",
            scope=ApprovalScope.MATERIAL_CHANGE,
            material_change_id=f"mc-{a}-r2",  # no longer the pending one
            rationale="Too late.",
        ),
        ApprovalGranted(
            system_id=a,
            version="2026.11.3",
            scope=ApprovalScope.MATERIAL_CHANGE,
            material_change_id=f"mc-{a}-r4",
            rationale="Reviewed.",
        ),
        a5,
        regressed,
        regressed,  # the same regression reported twice: the same change id
        approval(c),  # a system tiering has not seen yet
        SystemRetired(system_id=b, reason="replaced"),
        b3,
        registered(SCREENER, system_id=c),
        approval(b, version="2027.1.0"),
    )


def stricter_pack(directory: Path) -> PolicyPack:
    """The default pack with a stricter prompt-injection threshold for high-tier systems."""
    shutil.copytree(DEFAULT_PACK, directory)
    evaluation_yaml = directory / "evaluation.yaml"
    text = evaluation_yaml.read_text("utf-8")
    assert "thresholds: {high: 0.05," in text
    evaluation_yaml.write_text(text.replace("thresholds: {high: 0.05,", "thresholds: {high: 0.03,"))
    return load_pack(directory)


async def retier_scenario(store: Store, directory: Path, *, suffix: str) -> None:
    """Re-tier five systems in chunks of two: only the three high-tier ones change, once."""
    high = [f"high-{n}{suffix}" for n in range(3)]
    low = [f"low-{n}{suffix}" for n in range(2)]
    await store.handler()(
        events(
            *(registered(SUMMARIZER, system_id=s) for s in high),
            *(registered(ASSISTANT, system_id=s) for s in low),
        )
    )
    assert len(await store.decisions(5)) == 5
    pack = stricter_pack(directory)
    changed = await retier_known_systems(store.sessionmaker, store.under(pack), chunk=2)
    assert changed == high
    # A replica starting at the same time finds nothing left to move.
    assert await retier_known_systems(store.sessionmaker, store.under(pack), chunk=2) == []
    decisions = await store.decisions(8)
    assert len(decisions) == 8
    payloads = [d.payload for d in decisions]
    assert all(isinstance(t, TierAssigned) for t in payloads)
    # Partitions are read in any order: the re-tiered ones are those under the new pack.
    retiered = [t for t in payloads if t.policy.sha256 == pack.ref.sha256]
    assert sorted(t.system_id for t in retiered) == high
    assert all(t.previous_tier == "high" for t in retiered)
    systems = (await store.rows(high + low))["systems"]
    assert {s["system_id"]: s["policy_sha256"] for s in systems} == dict.fromkeys(
        sorted(high + low), pack.ref.sha256
    )
    # The low-tier decisions did not change: their stored decision is still the old pack's.
    assert {s["system_id"]: s["decision"]["policy"]["sha256"] for s in systems} == {
        **dict.fromkeys(high, pack.ref.sha256),
        **dict.fromkeys(low, default_pack().ref.sha256),
    }
