"""Evidence benchmark: the ledger pipeline beside its limit, the rebuild, and the release gate.

1. Fills the ledger with 10,000 systems x 100 records (registration, tier decision, two
   releases with evaluations, model cards, approvals, deployments, monitoring probes). The
   first `--consumer-systems` go through the consumer's write path (`record_batch`: dedup,
   per-system locks, hash chain, projections); the rest are the same generated entries with
   their chain fields computed by the ledger's own `event_hash` / `link_hash`, written by
   COPY (the write path would take ten minutes; the rebuild recomputes their projections).
2. Times `rebuild_projections` over the whole ledger.
3. Kafka -> ledger: N events of a realistic mix (release evidence, tier decisions and
   registrations, probes and alerts over the whole fleet) produced to private topics, then
   consumed by the `LedgerConsumer` the service runs: events/s and process CPU per event.
   Beside it, on the rows the consumer wrote, the limit: batched INSERTs (executemany, the
   consumer's batch size) and COPY, each into a table `LIKE ledger INCLUDING ALL` (the same
   indexes); the better of the two is "the limit".
4. The gate: one `python -m aigov_evidence` process (API only), loaded by wrk with random
   systems; beside it, the gate's own queries as plain SQL (asyncpg, same concurrency).

Writes `bench/reports/evidence.md` (only when every part ran); the last line printed is a
one-line summary with the ratio. Drops its schema and topics after.

    uv run python bench/bench_evidence.py [--systems 10000] [--per-system 100] [--ingest 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
import asyncpg  # type: ignore[import-untyped]  # noqa: E402
from aiokafka import AIOKafkaProducer  # noqa: E402
from sqlalchemy import Column, MetaData, Table, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from aigov_events.catalog import (  # noqa: E402
    AlertRaised,
    ApprovalGranted,
    ArtifactSubmitted,
    DeploymentRequested,
    EvaluationCompleted,
    EventPayload,
    MonitoringProbeCompleted,
    SystemRegistered,
    TierAssigned,
)
from aigov_events.envelope import format_time, to_kafka_binary  # noqa: E402
from aigov_events.message import DomainEvent, new_event  # noqa: E402
from aigov_events.testing import drop_topics  # noqa: E402
from aigov_events.topics import ALL_TOPICS  # noqa: E402
from aigov_evidence.app import MIGRATIONS  # noqa: E402
from aigov_evidence.chain import GENESIS_HASH, event_hash, link_hash  # noqa: E402
from aigov_evidence.consumers import LedgerConsumer, record_batch  # noqa: E402
from aigov_evidence.ledger import LedgerEntry, entry_from_event  # noqa: E402
from aigov_evidence.models import LEDGER, SYSTEMS  # noqa: E402
from aigov_evidence.rebuild import rebuild_projections  # noqa: E402
from aigov_evidence.settings import Settings  # noqa: E402
from aigov_evidence.tlog import store as tlog_store  # noqa: E402
from aigov_runtime import heap  # noqa: E402
from aigov_runtime.database import create_engine, create_sessionmaker  # noqa: E402
from aigov_runtime.migrations import upgrade_to_head  # noqa: E402
from aigov_runtime.resources import open_bus  # noqa: E402
from deploy.local import stack  # noqa: E402

REPORT = ROOT / "bench" / "reports" / "evidence.md"
PORT = 18183
TOKEN = "bench-reader-token-0123456789abcdef"
BATCH = 2000
"""The consumer's batch (`evidence_batch_size`); the plain INSERTs and COPYs use it too."""
FILL_CHUNK = 20_000
VERSIONS = ("1.0.0", "1.1.0")
INGEST_VERSIONS = ("2.0.0", "2.1.0")
GATE_VERSION = "1.1.0"
#: Ledger columns a write supplies (the id is the table's own).
COLUMNS: Final = tuple(c.name for c in LEDGER.columns if c.name != "id")
_JSON_COLUMNS: Final = frozenset({"attributes", "payload"})
#: The Kafka ingest mix, in percent: 70 release evidence, tier decisions and registrations,
#: 30 monitoring probes and alerts.
MIX: Final = (
    ("evaluation", 30),
    ("artifact", 14),
    ("approval", 8),
    ("deployment", 11),
    ("tier", 3),
    ("registration", 4),
    ("probe", 22),
    ("alert", 8),
)


def progress(message: str) -> None:
    """A progress line on stderr."""
    print(f"[bench-evidence {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _system_id(n: int) -> str:
    return f"bench-{n:05d}"


class Generator:
    """Ledger entries and events of a synthetic fleet, built from the catalog's own examples."""

    def __init__(self) -> None:
        self.t0 = datetime(2026, 11, 1, tzinfo=UTC)
        self.templates: dict[type[EventPayload], dict[str, Any]] = {
            model: dict(model.example)
            for model in (
                EvaluationCompleted,
                ArtifactSubmitted,
                ApprovalGranted,
                DeploymentRequested,
                MonitoringProbeCompleted,
                AlertRaised,
                TierAssigned,
            )
        }
        card = self.templates[ArtifactSubmitted]
        card["sections"] = {**card["sections"], "evaluation": "See release-evaluation run 8812."}
        # One typed payload per type stands for all of its records: the projections only read
        # typed fields of registrations, tier decisions, waivers and deployments.
        self.typed = {m: m.model_validate(t) for m, t in self.templates.items()}

    def _entry(
        self, model: type[EventPayload], data: dict[str, Any], *, actor: str, at: datetime
    ) -> LedgerEntry:
        event_id = str(uuid.uuid4())
        attributes = {
            "specversion": "1.0",
            "id": event_id,
            "source": "/bench/evidence",
            "type": model.event_type,
            "subject": data["system_id"],
            "time": format_time(at),
            "datacontenttype": "application/json",
            "actor": actor,
            "partitionkey": data["system_id"],
        }
        return LedgerEntry(
            event_id=event_id,
            event_type=model.event_type,
            system_id=data["system_id"],
            version=data.get("version"),
            time=at,
            actor=actor,
            source="/bench/evidence",
            attributes=attributes,
            payload=data,
            typed=self.typed[model],
        )

    def registration(self, n: int) -> SystemRegistered:
        """The registration of system `n` (the catalog's example manifest, renamed)."""
        system_id = _system_id(n)
        manifest = json.loads(json.dumps(SystemRegistered.example["manifest"]))
        manifest["metadata"]["id"] = system_id
        manifest["metadata"]["team"] = f"team-{n % 50}"
        return SystemRegistered.model_validate(
            {**SystemRegistered.example, "system_id": system_id, "manifest": manifest}
        )

    def _evaluation(
        self, system_id: str, version: str, run: str, injection: float
    ) -> dict[str, Any]:
        evaluation = self.templates[EvaluationCompleted]
        metrics = [
            {**m, "value": injection} if m["name"] == "prompt_injection_success_rate" else m
            for m in evaluation["metrics"]
        ]
        data = {**evaluation, "system_id": system_id, "version": version, "metrics": metrics}
        data["run"] = {**evaluation["run"], "id": run}
        return data

    def _release(self, model: type[EventPayload], system_id: str, version: str) -> dict[str, Any]:
        return {**self.templates[model], "system_id": system_id, "version": version}

    def system(self, n: int, per_system: int) -> list[LedgerEntry]:
        """The history of one system: registration, tier decision, releases, probes."""
        system_id = _system_id(n)
        at = self.t0 + timedelta(seconds=n)
        registered = new_event(self.registration(n), source="/bench", actor="owner", time=at)
        tier = new_event(
            TierAssigned.model_validate({**TierAssigned.example, "system_id": system_id}),
            source="/aigov/tiering",
            actor="aigov-tiering",
            time=at,
        )
        entries = [entry_from_event(registered), entry_from_event(tier)]
        # Half the fleet passes prompt injection (the gate allows), half does not.
        injection = 0.01 if n % 2 else 0.09
        for version in VERSIONS:
            for k in range(5):
                data = self._evaluation(system_id, version, f"{n}-{version}-{k}", injection)
                entries.append(self._entry(EvaluationCompleted, data, actor="ci", at=at))
            for _ in range(2):
                data = self._release(ArtifactSubmitted, system_id, version)
                entries.append(self._entry(ArtifactSubmitted, data, actor="ci", at=at))
            data = self._release(ApprovalGranted, system_id, version)
            entries.append(self._entry(ApprovalGranted, data, actor="approver", at=at))
            data = self._release(DeploymentRequested, system_id, version)
            entries.append(self._entry(DeploymentRequested, data, actor="ci", at=at))
        probe = self.templates[MonitoringProbeCompleted]
        while len(entries) < per_system:
            data = {
                **probe,
                "system_id": system_id,
                "probe": f"drift-{len(entries) % 7}",
                "ok": True,
            }
            entries.append(self._entry(MonitoringProbeCompleted, data, actor="router", at=at))
        return entries

    def ingest_event(self, kind: str, i: int, systems: int, rng: random.Random) -> DomainEvent[Any]:
        """Event `i` of the Kafka ingest: of `kind` (see `MIX`), for a random system of the fleet."""
        n = rng.randrange(systems)
        system_id = _system_id(n)
        version = INGEST_VERSIONS[i % len(INGEST_VERSIONS)]
        payload: EventPayload
        actor = "ci"
        if kind == "evaluation":
            payload = EvaluationCompleted.model_validate(
                self._evaluation(system_id, version, f"ingest-{i}", 0.01)
            )
        elif kind == "artifact":
            payload = ArtifactSubmitted.model_validate(
                self._release(ArtifactSubmitted, system_id, version)
            )
        elif kind == "approval":
            actor = "approver"
            payload = ApprovalGranted.model_validate(
                self._release(ApprovalGranted, system_id, version)
            )
        elif kind == "deployment":
            payload = DeploymentRequested.model_validate(
                self._release(DeploymentRequested, system_id, version)
            )
        elif kind == "tier":
            actor = "aigov-tiering"
            payload = TierAssigned.model_validate(
                {**self.templates[TierAssigned], "system_id": system_id}
            )
        elif kind == "registration":
            # A system new to the fleet.
            actor = "owner"
            payload = self.registration(systems + i)
        elif kind == "probe":
            actor = "router"
            payload = MonitoringProbeCompleted.model_validate(
                {
                    **self.templates[MonitoringProbeCompleted],
                    "system_id": system_id,
                    "probe": f"ingest-{i % 13}",
                    "ok": bool(i % 3),
                    "observed_at": datetime.now(UTC),
                }
            )
        elif kind == "alert":
            actor = "router"
            payload = AlertRaised.model_validate(
                {
                    **self.templates[AlertRaised],
                    "system_id": system_id,
                    "alert_id": f"a-ingest-{i}",
                    "starts_at": datetime.now(UTC),
                }
            )
        else:
            raise ValueError(f"unknown ingest kind {kind!r}")
        return new_event(payload, source="/bench/ingest", actor=actor)


def chained_records(
    entries: Sequence[LedgerEntry], heads: dict[str, tuple[int, str]], at: datetime
) -> list[tuple[Any, ...]]:
    """Ledger rows (in `COLUMNS` order) of entries new to the ledger, chained as `append` does.

    `heads` is each system's (sequence, hash) so far; it is advanced in place.
    """
    records: list[tuple[Any, ...]] = []
    for entry in entries:
        sequence, prev = heads.get(entry.system_id, (0, GENESIS_HASH))
        sequence += 1
        digest = event_hash(entry.attributes, entry.payload)
        chained = link_hash(prev, sequence, digest)
        heads[entry.system_id] = (sequence, chained)
        records.append(
            (
                entry.event_id,
                entry.event_type,
                entry.system_id,
                sequence,
                entry.version,
                entry.time,
                entry.actor,
                entry.source,
                json.dumps(entry.attributes),
                json.dumps(entry.payload),
                digest,
                prev,
                chained,
                at,
            )
        )
    return records


async def copy_records(
    engine: AsyncEngine, schema: str, table: str, columns: Sequence[str], records: list[Any]
) -> None:
    """COPY `records` into `table` through the raw asyncpg connection (one statement)."""
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        if driver is None:
            raise SystemExit("no asyncpg connection under the engine")
        await driver.copy_records_to_table(
            table, records=records, columns=list(columns), schema_name=schema
        )


async def load(
    settings: Settings, systems: int, per_system: int, through_consumer: int
) -> dict[str, float]:
    """Fill the ledger: `through_consumer` systems by `record_batch`, the rest by COPY."""
    if COLUMNS[-1] != "recorded_at" or len(COLUMNS) != 14:
        raise SystemExit(f"the ledger's columns changed ({COLUMNS}): update chained_records")
    engine = create_engine(settings.database_url, schema=settings.evidence_schema)
    sessionmaker = create_sessionmaker(engine)
    generator = Generator()
    schema = settings.evidence_schema
    appended, append_seconds, copied, started = 0, 0.0, 0, time.perf_counter()
    heads: dict[str, tuple[int, str]] = {}
    pending: list[LedgerEntry] = []
    try:
        for n in range(systems):
            pending += generator.system(n, per_system)
            consumer_part = n < through_consumer
            last_of_part = n == systems - 1 or n == through_consumer - 1
            if consumer_part and (len(pending) >= BATCH or last_of_part):
                began = time.perf_counter()
                appended += len(await record_batch(sessionmaker, pending))
                append_seconds += time.perf_counter() - began
                pending = []
            elif not consumer_part and (len(pending) >= FILL_CHUNK or last_of_part):
                records = chained_records(pending, heads, datetime.now(UTC))
                await copy_records(engine, schema, "ledger", COLUMNS, records)
                copied += len(records)
                pending = []
            if n and n % 1000 == 0:
                progress(f"loaded {n:,} systems ({appended + copied:,} records)")
        now = datetime.now(UTC)
        await copy_records(
            engine,
            schema,
            "chain_heads",
            ("system_id", "sequence", "hash", "updated_at"),
            [(s, seq, h, now) for s, (seq, h) in sorted(heads.items())],
        )
        fill_s = time.perf_counter() - started
        progress(f"growing the transparency log's tree over the {copied:,} copied records")
        began = time.perf_counter()
        grown = await tlog_store.grow(sessionmaker)
        tree_s = time.perf_counter() - began
    finally:
        await engine.dispose()
    return {
        "records": appended + copied,
        "appended": appended,
        "append_per_s": appended / append_seconds if append_seconds else float("nan"),
        "copied": copied,
        "wall_s": fill_s,
        "grown": grown,
        "grow_s": tree_s,
    }


async def rebuild(settings: Settings, systems: int) -> dict[str, float]:
    """Time `rebuild_projections` over the whole ledger (wall and process CPU)."""
    engine = create_engine(settings.database_url, schema=settings.evidence_schema)
    try:
        sessionmaker = create_sessionmaker(engine)
        began, cpu = time.perf_counter(), time.process_time()
        replayed = await rebuild_projections(sessionmaker)
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
        async with sessionmaker() as session:
            projected = int(await session.scalar(select(func.count()).select_from(SYSTEMS)) or 0)
    finally:
        await engine.dispose()
    if projected != systems:
        raise SystemExit(f"the rebuild projected {projected:,} systems, not {systems:,}")
    return {"records": replayed, "seconds": seconds, "cpu_s": cpu}


def ingest_mix(count: int, systems: int, seed: int = 11, start: int = 0) -> list[DomainEvent[Any]]:
    """`count` events in the proportions of `MIX`, shuffled, over the whole fleet.

    `start` numbers the events (and the new systems they register) from there, so two mixes
    of one run never register the same system.
    """
    rng = random.Random(seed)
    kinds = [kind for kind, share in MIX for _ in range(share)]
    generator = Generator()
    return [
        generator.ingest_event(rng.choice(kinds), i, systems, rng)
        for i in range(start, start + count)
    ]


@contextmanager
def tree_appends_off() -> Iterator[None]:
    """The ledger's append without its transparency-log step: the figure the tree is weighed against."""
    real = tlog_store.append_records

    async def skipped(_session: Any, _records: Any) -> int:
        return 0

    tlog_store.append_records = skipped  # type: ignore[assignment]
    try:
        yield
    finally:
        tlog_store.append_records = real


async def produce(settings: Settings, events: Sequence[DomainEvent[Any]]) -> None:
    """Publish `events` on their catalog topics (keyed by system), acks=all."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        linger_ms=20,
        max_batch_size=1 << 20,
        acks="all",
        enable_idempotence=True,
    )
    await producer.start()
    try:
        futures = []
        for event in events:
            value, headers = to_kafka_binary(event.envelope)
            topic = settings.topic_prefix + event.payload.topic
            futures.append(
                await producer.send(
                    topic, key=event.system_id.encode(), value=value, headers=headers
                )
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _max_id(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.max(LEDGER.c.id))) or 0)


async def consume(settings: Settings, count: int) -> dict[str, float]:
    """Run a `LedgerConsumer` until `count` new records are in the ledger: events/s, CPU/event."""
    engine = create_engine(settings.database_url, schema=settings.evidence_schema)
    sessionmaker = create_sessionmaker(engine)
    bus = open_bus(settings, client_id="bench-ingest")
    await bus.start()
    before = await _max_id(engine)
    new_rows = select(func.count()).select_from(LEDGER).where(LEDGER.c.id > before)
    consumer = LedgerConsumer(
        bus,
        sessionmaker=sessionmaker,
        group=f"bench-{uuid.uuid4().hex[:6]}",
        max_records=settings.evidence_batch_size,
    )
    progress("consuming into the ledger")
    heap.after_startup()  # as the service's lifespan does once it is ready
    task = asyncio.create_task(consumer.run())
    await consumer.wait_started()
    started, cpu_started = time.perf_counter(), time.process_time()
    first_seen: float | None = None
    while True:
        # Counts only the new rows (by primary key): cheap for the database and this process.
        async with engine.connect() as connection:
            seen = int(await connection.scalar(new_rows) or 0)
        if first_seen is None and seen:
            first_seen = time.perf_counter()
        if seen >= count:
            break
        if task.done():
            raise SystemExit(f"the ledger consumer stopped after {seen:,} records: {task!r}")
        await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - (first_seen or started)
    cpu = time.process_time() - cpu_started
    consumer.stop()
    await task
    heap.before_shutdown()
    await bus.stop()
    await engine.dispose()
    return {
        "events": count,
        "per_s": count / elapsed,
        "seconds": elapsed,
        "cpu_us": cpu * 1e6 / count,
        "first_id": before,
    }


def _encode(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(json.dumps(row[c]) if c in _JSON_COLUMNS else row[c] for c in COLUMNS)


async def limit(settings: Settings, after_id: int, count: int, rounds: int) -> dict[str, float]:
    """The same rows written as plain batched INSERTs and as COPY; best round of each.

    Both targets are `LIKE ledger INCLUDING ALL` (the ledger's unique and lookup indexes,
    no append-only triggers), one transaction per batch of the consumer's size, no Kafka,
    decoding, hashing or locks. JSON encoding of the rows is inside the timing for both.
    """
    engine = create_engine(settings.database_url, schema=settings.evidence_schema)
    schema = settings.evidence_schema
    async with engine.begin() as connection:
        rows = [
            dict(row)
            for row in (
                await connection.execute(
                    select(*(LEDGER.c[c] for c in COLUMNS))
                    .where(LEDGER.c.id > after_id)
                    .order_by(LEDGER.c.id)
                )
            )
            .mappings()
            .all()
        ]
        for name in ("bench_insert", "bench_copy"):
            await connection.execute(text(f"CREATE TABLE {name} (LIKE ledger INCLUDING ALL)"))
    if len(rows) != count:
        raise SystemExit(f"expected {count:,} new ledger rows, found {len(rows):,}")
    target = Table("bench_insert", MetaData(), *[Column(c, LEDGER.c[c].type) for c in COLUMNS])
    batches = [rows[start : start + BATCH] for start in range(0, len(rows), BATCH)]

    async def insert() -> None:
        for batch in batches:
            async with engine.begin() as connection:
                await connection.execute(target.insert(), batch)

    async def copy() -> None:
        for batch in batches:
            await copy_records(engine, schema, "bench_copy", COLUMNS, [_encode(r) for r in batch])

    results: dict[str, float] = {}
    try:
        for _ in range(rounds):
            for name, write in (("insert", insert), ("copy", copy)):
                async with engine.begin() as connection:
                    await connection.execute(text(f"TRUNCATE bench_{name}"))
                began, cpu = time.perf_counter(), time.process_time()
                await write()
                seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
                async with engine.connect() as connection:
                    written = int(
                        await connection.scalar(text(f"SELECT count(*) FROM bench_{name}")) or 0
                    )
                if written != count:
                    raise SystemExit(f"{name} wrote {written:,} rows, not {count:,}")
                if count / seconds > results.get(f"{name}_per_s", 0.0):
                    results[f"{name}_per_s"] = count / seconds
                    results[f"{name}_cpu_us"] = cpu * 1e6 / count
    finally:
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE IF EXISTS bench_insert, bench_copy"))
        await engine.dispose()
    best = max(("insert", "copy"), key=lambda name: results[f"{name}_per_s"])
    results["limit_per_s"] = results[f"{best}_per_s"]
    results["limit_is_copy"] = float(best == "copy")
    return results


async def ingest(settings: Settings, count: int, systems: int, rounds: int) -> dict[str, float]:
    """Kafka -> `LedgerConsumer` -> ledger without and with the tree, then the limit."""
    progress(f"building {count:,} events of a second mix, consumed without the tree")
    # Topics of their own: the measured consumer's new group must not read these again.
    untreed_settings = settings.model_copy(update={"topic_prefix": f"{settings.topic_prefix}u."})
    bus = open_bus(untreed_settings, client_id="bench")
    await bus.start()
    await bus.ensure_topics(ALL_TOPICS)
    await bus.stop()
    events = ingest_mix(count, systems, seed=12, start=count)
    await produce(untreed_settings, events)
    del events
    with tree_appends_off():
        untreed = await consume(untreed_settings, count)
    progress(f"consumer without the tree: {untreed}")
    progress(f"building {count:,} events of the ingest mix")
    events = ingest_mix(count, systems)
    progress(f"producing {count:,} events to Kafka")
    await produce(settings, events)
    del events
    consumed = await consume(settings, count)
    progress(f"consumer: {consumed}")
    limits = await limit(settings, int(consumed["first_id"]), count, rounds)
    progress(f"limit: {limits}")
    return {
        **consumed,
        **limits,
        "ratio": consumed["per_s"] / limits["limit_per_s"],
        "untreed_per_s": untreed["per_s"],
        "untreed_cpu_us": untreed["cpu_us"],
    }


def start_service(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """One evidence process, API only, on the benchmark schema."""
    env = dict(os.environ)
    env.update(
        {
            "AIGOV_HTTP_PORT": str(PORT),
            "AIGOV_DATABASE_URL": settings.database_url,
            "AIGOV_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
            "AIGOV_TOPIC_PREFIX": settings.topic_prefix,
            "AIGOV_EVIDENCE_SCHEMA": settings.evidence_schema,
            "AIGOV_RUN_CONSUMERS": "false",
            "AIGOV_MIGRATE_ON_START": "false",
            "AIGOV_LOG_LEVEL": "WARNING",
            "AIGOV_EVIDENCE_CHECKPOINT_INTERVAL_SECONDS": "0",
            "AIGOV_EVIDENCE_WAIVER_SWEEP_INTERVAL_SECONDS": "0",
            # The KPI refresh reads the whole ledger without yielding: at 1,000,000 records it
            # held the event loop for the whole gate run (no request answered) and past SIGTERM.
            "AIGOV_EVIDENCE_KPI_REFRESH_SECONDS": "0",
            "AIGOV_AUTH_TOKENS": json.dumps({TOKEN: {"principal": "ci", "roles": ["reader"]}}),
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "aigov_evidence"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/readyz", timeout=2) as r:
                if r.status == 200:
                    return process
        except OSError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"evidence exited during startup; see {log}")
        time.sleep(0.5)
    process.terminate()
    raise SystemExit(f"evidence not ready after 60 s; see {log}")


_LUA = """
math.randomseed(%(seed)d)
request = function()
  local path = string.format("/v1/gate?system=bench-%%05d&version=%(version)s", math.random(0, %(systems)d - 1))
  return wrk.format("GET", path, {["Authorization"] = "Bearer %(token)s"})
end
"""


def _percentile(out: str, label: str) -> float:
    match = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", out)
    if match is None:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gate_http(
    systems: int, connections: int, seconds: int, tmp: Path, pid: int
) -> dict[str, float]:
    """wrk against GET /v1/gate with random systems; the service's CPU per request."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    script = tmp / "gate.lua"
    script.write_text(
        _LUA % {"seed": 7, "version": GATE_VERSION, "systems": systems, "token": TOKEN}
    )
    cpu_before = process_cpu_seconds(pid)
    out = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{PORT}",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    cpu = process_cpu_seconds(pid) - cpu_before
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "cpu_ms": cpu * 1000 / max(requests, 1),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _percentile(out, "50%"),
        "p99": _percentile(out, "99%"),
        "errors": float(errors.group(1)) if errors else 0.0,
    }


_GATE_SQL = (
    "SELECT * FROM systems WHERE system_id = $1",
    "SELECT * FROM releases WHERE system_id = $1 AND version = $2",
    "SELECT event_id, event_type, version, time, actor, payload FROM ledger "
    "WHERE system_id = $1 AND event_type = ANY($3::text[]) AND (version IS NULL OR version = $2)",
    "SELECT * FROM waivers WHERE system_id = $1 AND version = $2",
)


async def gate_sql(
    settings: Settings, systems: int, connections: int, seconds: int
) -> dict[str, float]:
    """The gate's queries as plain SQL (asyncpg), `connections` concurrent clients."""
    url = make_url(settings.database_url).set(drivername="postgresql")
    pool = await asyncpg.create_pool(
        url.render_as_string(hide_password=False),
        min_size=connections,
        max_size=connections,
        server_settings={"search_path": settings.evidence_schema},
    )
    types = [
        "io.aigov.approval.denied.v1",
        "io.aigov.approval.granted.v1",
        "io.aigov.approval.revoked.v1",
        "io.aigov.artifact.submitted.v1",
        "io.aigov.evaluation.completed.v1",
        "io.aigov.material_change.detected.v1",
    ]
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            system = _system_id(random.randrange(systems))
            began = time.perf_counter()
            async with pool.acquire() as connection:
                await connection.fetchrow(_GATE_SQL[0], system)
                await connection.fetchrow(_GATE_SQL[1], system, GATE_VERSION)
                await connection.fetch(_GATE_SQL[2], system, GATE_VERSION, types)
                await connection.fetch(_GATE_SQL[3], system, GATE_VERSION)
            latencies.append((time.perf_counter() - began) * 1000)

    await asyncio.gather(*(client() for _ in range(connections)))
    await pool.close()
    latencies.sort()
    return {
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99)],
        "errors": 0.0,
    }


READING = """## Reading the figures

The CPU per event is the benchmark process's own CPU time (`time.process_time()`) over the
run, divided by its events: for the Kafka path that is the consumer (aiokafka's fetch and
record parsing, decoding and validation, hashing, the batch's statements, and this script's
progress query every 100 ms); for the limits it is the client's encoding and driver work.
Database CPU is not in it. Events/s depend on what else the two shared cores run (broker,
PostgreSQL, other sessions); CPU per event much less so.

Gate targets from the issue: p99 <= 15 ms and >= 1,000 requests/s from one process; the gate
runs after the ingest on the same ledger and is left as it was (issue 18 owns it), except that
the service's KPI refresh is now off like its other background jobs: with it on, the refresh
(`KpiCollector.refresh` -> `load_facts`, validating every recorded payload without yielding)
held the event loop for the whole gate run at 1,000,000 records (0 requests answered in 15 s,
15 s of service CPU) and did not let the process stop within 30 s of SIGTERM.
"""

PROFILE = """## Where the consumer's time goes

Profile: py-spy (250 Hz, on-CPU samples) over a separate, smaller run of this script,

    uv run --frozen --with py-spy py-spy record --format raw --rate 250 -o ev_profile.txt -- \\
      python bench/bench_evidence.py --systems 2000 --per-system 50 --consumer-systems 0 \\
      --ingest 20000 --limit-rounds 1 --skip-gate --skip-rebuild

(20,000 events of the same mix; 2026-12-04: 5,572 events/s and 124 us CPU/event under the
profiler, limit 28,603 rows/s by COPY in the same run). Of the 410 samples in the consumer's
stacks (the runner's loop and its read-ahead task):

| where | share | what it is |
|---|---:|---|
| `read_kafka_record` | 21% | `json.loads` of the value (7%), the envelope's attributes checked by hand, `CloudEvent.model_construct` |
| catalog validation | 11% | strict `model_validate_json` of the payload from the record's own bytes |
| aiokafka poll and record unpacking | 10% | |
| `event_hash` | 13% | RFC 8785: `_prepare` walks the document in Python, `json.dumps(sort_keys=True)`, SHA-256 |
| `copy_rows` | 10% | the ledger's COPY, JSON binds (pydantic-core) included |
| rest of `append` | 16% | dedup, lock and heads statements, chain links, `dataclasses.replace` of each entry (3%) |
| `entry_from_event` | 6% | |
| `project` | 4% | the set-based projections |
| runner, loop, transaction, offsets, spans | 9% | |

Done since the first profile (394 us CPU/event then, 124 us now): the envelope of a parsed
record is built without validating its data again as `JsonValue`; the payload is validated
from the record's bytes; `release_version` reads declared fields; `_count_ok` counts per
topic; `entry_from_event` keeps the decoded attributes; the ledger appends by COPY; JSON
parameters are printed by pydantic-core; and the runtime's collector lets a batch's garbage
die young (full collections over the whole heap were a fifth of the CPU, charged to whatever
allocated). The runner reads and decodes the next batch while the handler waits on the
database; on these two cores, shared with PostgreSQL and the broker, that hides little.
Tried and reverted: a regex-gated fast path around `_prepare` (slower: a third of the
documents hold integral floats such as `0.0` metrics, which need the walk anyway).

The profile above predates the transparency log's tree (issue 16). Its step in the append,
profiled the same way on 2026-12-04 (126 us CPU/event without it, 146 us with it in the same
run), is about 60% hashing in Python (each record's leaf entry and SHA-256, then about one
inner node per record in `append_leaves`) and 40% the COPY of leaves and nodes.

A ratio of 0.5 needs the consumer at about half the COPY's rows/s, i.e. some 70 us of wall
time per event, with every record validated strictly and hashed canonically; the process
spends 124 us of CPU per event, two thirds of it in per-record Python (decoding, validation,
canonical JSON). What is left: a second consumer process (partitions spread the systems, the
design allows it: advisory locks per system, database-side dedup), or the canonical hash and
the envelope checks in compiled code.
"""


def _figure(value: float, unit: str = "") -> str:
    return f"{value:,.0f}{unit}"


def render(
    args: argparse.Namespace,
    loaded: dict[str, float],
    rebuilt: dict[str, float],
    ingested: dict[str, float],
    http: dict[str, float],
    sql: dict[str, float],
) -> str:
    """The Markdown report."""
    limit_name = "COPY" if ingested["limit_is_copy"] else "batched INSERT"
    mix = ", ".join(f"{share}% {kind}" for kind, share in MIX)
    return "\n".join(
        [
            "# Evidence benchmark",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} "
            f"cores shared with other work, Python {platform.python_version()}) with "
            f"`uv run python bench/bench_evidence.py --systems {args.systems} --per-system "
            f"{args.per_system} --consumer-systems {args.consumer_systems} --ingest "
            f"{args.ingest}`, on the local Kafka and PostgreSQL from `deploy/local`.",
            "",
            "## Kafka -> ledger, beside its limit",
            "",
            f"{ingested['events']:,.0f} events ({mix}; releases {' and '.join(INGEST_VERSIONS)} "
            f"of random systems of the {args.systems:,}, registrations of new systems) were "
            f"produced to {len(ALL_TOPICS) // 2} topics of 6 partitions, then consumed by one "
            f"`LedgerConsumer` (batches of up to {BATCH}) on top of the "
            f"{loaded['records']:,.0f}-record ledger. The limit writes the rows the consumer "
            f"wrote, read back from the ledger, into tables `LIKE ledger INCLUDING ALL` in "
            f"batches of {BATCH}, one transaction each (best of {args.limit_rounds} rounds).",
            "",
            "| path | events/s | CPU/event (client) | Kafka path / this row |",
            "|---|---:|---:|---:|",
            f"| Kafka -> `LedgerConsumer` -> ledger + projections + tree | "
            f"{_figure(ingested['per_s'])} | {_figure(ingested['cpu_us'], ' us')} | - |",
            f"| the same without the transparency log's tree (a second mix, just before) | "
            f"{_figure(ingested['untreed_per_s'])} | {_figure(ingested['untreed_cpu_us'], ' us')} | "
            f"{ingested['per_s'] / ingested['untreed_per_s']:.2f} |",
            f"| plain batched INSERT (executemany) of the same rows | "
            f"{_figure(ingested['insert_per_s'])} | {_figure(ingested['insert_cpu_us'], ' us')} | "
            f"{ingested['per_s'] / ingested['insert_per_s']:.2f} |",
            f"| COPY (`copy_records_to_table`) of the same rows | "
            f"{_figure(ingested['copy_per_s'])} | {_figure(ingested['copy_cpu_us'], ' us')} | "
            f"{ingested['per_s'] / ingested['copy_per_s']:.2f} |",
            "",
            f"The limit is the better of the two: {limit_name}, "
            f"{_figure(ingested['limit_per_s'])} rows/s. Ratio pipeline / limit: "
            f"**{ingested['ratio']:.2f}** (target >= 0.5).",
            "",
            "The transparency log's tree (issue 16: within 10% of the ledger without it): the "
            "row without it is the same consumer with the tree's step of the append switched "
            f"off, on {ingested['events']:,.0f} other events of the same mix, consumed just "
            f"before. With the tree: {ingested['per_s'] / ingested['untreed_per_s']:.2f} x the "
            f"events/s, {ingested['cpu_us'] - ingested['untreed_cpu_us']:+,.0f} us of CPU per "
            "event (one leaf and about one inner node per record, hashed in Python and "
            "written by COPY, under one tree-wide lock per batch).",
            "",
            "## Ledger fill and rebuild",
            "",
            f"The ledger was filled with {loaded['records']:,.0f} records for {args.systems:,} "
            f"systems in {loaded['wall_s']:,.0f} s: {loaded['appended']:,.0f} records "
            f"({args.consumer_systems:,} systems) through the consumer's write path "
            f"(`record_batch`, batches of {BATCH}: {_figure(loaded['append_per_s'])} records/s "
            f"in-process), the other {loaded['copied']:,.0f} as the same generated entries with "
            "their chain fields computed by the ledger's `event_hash` / `link_hash`, written by "
            "COPY (their projections come from the rebuild). The transparency log's tree was "
            f"then grown over those {loaded['grown']:,.0f} records in {loaded['grow_s']:,.1f} s "
            f"(`tlog.store.grow`, as the ledger consumer does at start for records older than "
            "the tree).",
            "",
            f"`rebuild_projections` (`make rebuild-projections`) replayed {rebuilt['records']:,.0f} "
            f"ledger records in **{rebuilt['seconds']:,.1f} s** ({_figure(rebuilt['records'] / rebuilt['seconds'])} "
            f"records/s; {rebuilt['cpu_s']:,.1f} s of CPU in the rebuilding process).",
            "",
            "## Gate",
            "",
            f"`GET /v1/gate` for random systems (release {GATE_VERSION}) against one "
            "`python -m aigov_evidence` process (uvicorn, API only: `AIGOV_RUN_CONSUMERS=false`), "
            f"`wrk -t1 -c{args.connections} -d{args.seconds}s`; every answer is also published "
            "as `gate.decided` (acks=all) before the response. The plain-SQL row runs the gate's "
            "four queries with asyncpg at the same concurrency.",
            "",
            "| path | requests/s | p50 | p99 | non-2xx | service CPU/request |",
            "|---|---:|---:|---:|---:|---:|",
            f"| HTTP `GET /v1/gate` | {http['rps']:,.0f} | {http['p50']:.2f} ms | {http['p99']:.2f} ms | {http['errors']:,.0f} | {http['cpu_ms']:.2f} ms |",
            f"| plain SQL (the limit) | {sql['rps']:,.0f} | {sql['p50']:.2f} ms | {sql['p99']:.2f} ms | - | - |",
            "",
            PROFILE,
            READING,
        ]
    )


def summary(ingested: dict[str, float], rebuilt: dict[str, float] | None) -> str:
    """The one-line summary printed last."""
    limit_name = "COPY" if ingested["limit_is_copy"] else "INSERT"
    line = (
        f"evidence: Kafka->ledger {ingested['per_s']:,.0f} events/s, "
        f"{ingested['cpu_us']:,.0f} us CPU/event; limit {ingested['limit_per_s']:,.0f}/s "
        f"({limit_name}; INSERT {ingested['insert_per_s']:,.0f}/s, COPY "
        f"{ingested['copy_per_s']:,.0f}/s); ratio {ingested['ratio']:.2f} (target >= 0.5); "
        f"with the tree {ingested['per_s'] / ingested['untreed_per_s']:.2f} x without "
        "(target >= 0.9)"
    )
    if rebuilt is not None:
        line += f"; rebuild {rebuilt['records']:,.0f} records in {rebuilt['seconds']:,.1f} s"
    return line


async def gate(args: argparse.Namespace, settings: Settings) -> tuple[dict[str, float], ...]:
    """The gate over HTTP (one service process) and as plain SQL."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "evidence.log"
        service = start_service(settings, log)
        try:
            gate_http(args.systems, args.connections, 3, Path(tmp), service.pid)  # warm-up
            http = gate_http(args.systems, args.connections, args.seconds, Path(tmp), service.pid)
        finally:
            service.terminate()
            try:
                service.wait(30)
            except subprocess.TimeoutExpired:
                # Seen on this machine: the figures are measured by then, so keep them.
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
                progress(f"evidence did not stop within 30 s of SIGTERM; killing it. Log:\n{tail}")
                service.kill()
                service.wait(10)
    progress(f"gate http: {http}")
    sql = await gate_sql(settings, args.systems, args.connections, args.seconds)
    progress(f"gate sql: {sql}")
    return http, sql


async def main_async(args: argparse.Namespace) -> None:
    """Run the benchmark, write the report (when every part ran) and print the summary."""
    if not args.skip_gate and shutil.which("wrk") is None:
        raise SystemExit("wrk is missing (the gate part needs it): apt-get install wrk")
    started = stack.ensure_started()
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        database_url=stack.postgres_url("aigov"),
        kafka_bootstrap_servers=stack.KAFKA_BOOTSTRAP,
        topic_prefix=f"bench{tag}.",
        topic_partitions=6,
        evidence_schema=f"evidence_bench_{tag}",
        evidence_batch_size=BATCH,
    )
    admin = create_engine(settings.database_url)
    try:
        await asyncio.to_thread(
            upgrade_to_head,
            MIGRATIONS,
            database_url=settings.database_url,
            schema=settings.evidence_schema,
        )
        bus = open_bus(settings, client_id="bench")
        await bus.start()
        await bus.ensure_topics(ALL_TOPICS)
        await bus.stop()
        progress(f"loading {args.systems:,} systems x {args.per_system} records")
        loaded = await load(
            settings, args.systems, args.per_system, min(args.consumer_systems, args.systems)
        )
        progress(f"loaded: {loaded}")
        rebuilt = None if args.skip_rebuild else await rebuild(settings, args.systems)
        progress(f"rebuild: {rebuilt}")
        ingested = await ingest(settings, args.ingest, args.systems, args.limit_rounds)
        if rebuilt is not None and not args.skip_gate:
            http, sql = await gate(args, settings)
            REPORT.write_text(render(args, loaded, rebuilt, ingested, http, sql))
            progress(f"wrote {REPORT.relative_to(ROOT)}")
        else:
            progress("a part was skipped: the report is left as it is")
    finally:
        async with admin.begin() as connection:
            await connection.execute(
                text(f'DROP SCHEMA IF EXISTS "{settings.evidence_schema}" CASCADE')
            )
        await admin.dispose()
        await drop_topics(stack.KAFKA_BOOTSTRAP, settings.topic_prefix)
        stack.release(started)
    print(summary(ingested, rebuilt), flush=True)


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--systems", type=int, default=10_000)
    parser.add_argument("--per-system", type=int, default=100)
    parser.add_argument(
        "--consumer-systems",
        type=int,
        default=1_000,
        help="systems loaded through record_batch; the rest by COPY of chained rows",
    )
    parser.add_argument("--ingest", type=int, default=50_000)
    parser.add_argument("--limit-rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--skip-rebuild", action="store_true")
    parser.add_argument("--skip-gate", action="store_true")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
