"""Tiering benchmark: decisions/s of the policy evaluator, and system.registered -> tier.assigned latency.

The evaluator is measured in-process on the public example manifests. The end-to-end
figures run one tiering service (its consumer, CEL evaluation, database writes and the
publish of `tier.assigned`) on the embedded bus + SQLite, and on the local Kafka broker
+ PostgreSQL (started if needed, released afterwards). Writes `bench/reports/tiering.md`.

    uv run python bench/bench_tiering.py [--seconds 5] [--events 200] [--burst 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from aigov_events.bus import Bus, Subscription
from aigov_events.catalog import AISystemManifest, SystemRegistered
from aigov_events.envelope import from_kafka_record
from aigov_events.message import decode, new_event
from aigov_events.producer import Publisher
from aigov_events.testing import drop_topics
from aigov_events.topics import DECISIONS
from aigov_intake.api.typed_examples import examples_dir
from aigov_runtime.resources import open_bus
from aigov_runtime.testing import app_client
from aigov_tiering.app import create_app
from aigov_tiering.engine import decide
from aigov_tiering.policy import load_pack
from aigov_tiering.policy.location import default_policy_dir
from aigov_tiering.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from deploy.local import stack  # noqa: E402

REPORT = ROOT / "bench" / "reports" / "tiering.md"
EXAMPLES = examples_dir() / "systems"


@dataclass
class EndToEnd:
    """Latency and throughput of one run mode."""

    mode: str
    p50_ms: float
    p99_ms: float
    burst_per_s: float


def manifests() -> list[AISystemManifest]:
    """The public example manifests."""
    return [
        AISystemManifest.model_validate(yaml.safe_load(path.read_text("utf-8")))
        for path in sorted(EXAMPLES.glob("*.yaml"))
    ]


def progress(message: str) -> None:
    """Progress on stderr (the report goes to a file)."""
    sys.stderr.write(message + "\n")


def evaluator(seconds: float) -> tuple[float, float, float]:
    """Decisions/s, p50 and p99 (ms) of decide() over the example manifests."""
    pack = load_pack(default_policy_dir())
    examples = manifests()
    timings: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for manifest in examples:
            started = time.perf_counter()
            decide(manifest, pack)
            timings.append(time.perf_counter() - started)
    return len(timings) / sum(timings), _ms(timings, 50), _ms(timings, 99)


def _ms(values: list[float], percentile: int) -> float:
    return statistics.quantiles(values, n=100)[percentile - 1] * 1000 if percentile < 100 else 0.0


def registration(template: AISystemManifest, system_id: str) -> SystemRegistered:
    """A registration of `template` under a fresh id."""
    document = template.to_document()
    document["metadata"] = {**document["metadata"], "id": system_id}  # type: ignore[dict-item]
    manifest = AISystemManifest.model_validate(document)
    return SystemRegistered(
        system_id=system_id,
        revision=1,
        manifest_sha256=manifest.content_sha256(),
        manifest=manifest,
    )


async def _await_decisions(subscription: Subscription, wanted: set[str]) -> None:
    deadline = time.monotonic() + 120
    while wanted:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no tier.assigned for {len(wanted)} systems, e.g. {min(wanted)}")
        for record in await subscription.poll(max_wait=0.2, max_records=500):
            wanted.discard(decode(from_kafka_record(record.value, record.headers)).system_id)


async def end_to_end(mode: str, settings: Settings, events: int, burst: int) -> EndToEnd:
    """Sequential latency and burst throughput of one tiering service with `settings`."""
    template = manifests()[-1]  # support-summarizer: high tier, the most controls
    async with app_client(create_app(settings)):
        bus: Bus = open_bus(settings, client_id="tiering-bench")
        await bus.start()
        subscription = bus.subscribe(group=f"bench-{uuid.uuid4()}", topics=[DECISIONS])
        await subscription.start()
        publisher = Publisher(bus)
        # Fresh system ids every run: the Kafka run shares its database with earlier runs, and
        # tiering ignores a revision 1 of a system it already knows.
        run = uuid.uuid4().hex[:6]
        try:
            await publisher.publish(
                new_event(registration(template, f"warm-up-{run}"), source="/bench", actor="bench")
            )
            await _await_decisions(subscription, {f"warm-up-{run}"})
            latencies: list[float] = []
            for n in range(events):
                system_id = f"bench-{run}-{n}"
                started = time.perf_counter()
                await publisher.publish(
                    new_event(registration(template, system_id), source="/bench", actor="bench")
                )
                await _await_decisions(subscription, {system_id})
                latencies.append(time.perf_counter() - started)
            ids = [f"burst-{run}-{n}" for n in range(burst)]
            started = time.perf_counter()
            for chunk in range(0, burst, 100):
                await publisher.publish_batch(
                    [
                        new_event(registration(template, i), source="/bench", actor="bench")
                        for i in ids[chunk : chunk + 100]
                    ]
                )
            await _await_decisions(subscription, set(ids))
            burst_seconds = time.perf_counter() - started
        finally:
            await subscription.close()
            await bus.stop()
    progress(f"{mode}: done")
    return EndToEnd(mode, _ms(latencies, 50), _ms(latencies, 99), burst / burst_seconds)


def render(
    evaluation: tuple[float, float, float], results: list[EndToEnd], args: argparse.Namespace
) -> str:
    """The Markdown report."""
    rate, p50, p99 = evaluation
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Tiering benchmark",
        "",
        f"Measured {when} on {platform.node()} ({platform.machine()}, Python "
        f"{platform.python_version()}) with `uv run python bench/bench_tiering.py` "
        f"(`--seconds {args.seconds} --events {args.events} --burst {args.burst}`), on a machine "
        f"shared with other work ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
        "at the end): treat the figures as orders of magnitude.",
        "",
        "## Policy evaluator",
        "",
        "`decide()` on the three public example manifests in turn (CEL rules compiled once at pack "
        "load; one CEL context per decision).",
        "",
        "| decisions/s (one core) | p50 | p99 |",
        "|---:|---:|---:|",
        f"| {rate:,.0f} | {p50:.2f} ms | {p99:.2f} ms |",
        "",
        "## system.registered -> tier.assigned",
        "",
        "One tiering service; a client publishes `system.registered` and waits for the "
        "`tier.assigned` on `aigov.decisions` (consume, claim the event id, evaluate, write the "
        "system and decision rows, publish with acks, commit). Latency is one event at a time; "
        f"the burst is {args.burst} registrations published in batches of 100.",
        "",
        "| run mode | latency p50 | latency p99 | burst, decisions/s |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {r.mode} | {r.p50_ms:.1f} ms | {r.p99_ms:.1f} ms | {r.burst_per_s:,.0f} |"
        for r in results
    ]
    return "\n".join(lines) + "\n"


async def main(args: argparse.Namespace) -> None:
    """Run every measurement and write the report."""
    evaluation = evaluator(args.seconds)
    progress(f"evaluator: {evaluation[0]:,.0f} decisions/s")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        embedded = Settings(
            database_url=f"sqlite+aiosqlite:///{tmp}/tiering.sqlite3",
            bus="embedded",
            embedded_bus_path=Path(tmp) / "bus.sqlite3",
            log_level="WARNING",
        )
        results.append(await end_to_end("embedded bus + SQLite", embedded, args.events, args.burst))
    started_here = stack.ensure_started(["kafka", "postgres"])
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    try:
        kafka = Settings(
            database_url=stack.postgres_url("aigov_test"),
            kafka_bootstrap_servers=stack.KAFKA_BOOTSTRAP,
            topic_prefix=prefix,
            log_level="WARNING",
        )
        results.append(await end_to_end("Kafka + PostgreSQL", kafka, args.events, args.burst))
    finally:
        await drop_topics(stack.KAFKA_BOOTSTRAP, prefix)
        stack.release(started_here)
    REPORT.write_text(render(evaluation, results, args), "utf-8")
    progress(f"wrote {REPORT}")


def _arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--burst", type=int, default=500)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments: Any = _arguments()
    asyncio.run(main(arguments))
