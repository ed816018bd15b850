"""Bus benchmark: publish latency, batch throughput and consumer-runner throughput.

Runs against the real local Kafka broker (started if needed, stopped afterwards if it
was started here) and the embedded SQLite log, and writes `bench/reports/bus.md`.

    uv run python bench/bench_bus.py [--events 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aigov_events.bus import Bus, NamespacedBus
from aigov_events.catalog import SystemRetired
from aigov_events.consumer import ConsumerRunner
from aigov_events.embedded_bus import EmbeddedBus
from aigov_events.kafka_bus import KafkaBus
from aigov_events.message import DomainEvent, new_event
from aigov_events.producer import Publisher
from aigov_events.topics import LIFECYCLE, dlq

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from deploy.local import stack  # noqa: E402

REPORT = ROOT / "bench" / "reports" / "bus.md"


@dataclass
class Result:
    """Figures measured on one bus."""

    bus: str
    single_p50_ms: float
    single_p99_ms: float
    single_per_s: float
    batch_per_s: float
    consume_per_s: float


def event(n: int) -> DomainEvent[SystemRetired]:
    """A small catalog event; ten systems so all partitions are used."""
    return new_event(
        SystemRetired(system_id=f"bench-{n % 10}", reason=f"benchmark event {n}"),
        source="/bench",
        actor="bench",
    )


def progress(message: str) -> None:
    """One line of progress on stderr."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


async def measure(name: str, make_bus: Callable[[], Bus], events: int) -> Result:
    """Publish one by one, then in batches of 100, then consume everything with the runner."""
    bus = NamespacedBus(make_bus(), f"bench{uuid.uuid4().hex[:8]}.")
    await bus.start()
    await bus.ensure_topics([LIFECYCLE, dlq(LIFECYCLE)])
    publisher = Publisher(bus)
    try:
        await publisher.publish(event(-1))  # warm-up: metadata, connections
        singles = max(200, events // 4)
        progress(f"{name}: publishing {singles} events one at a time")
        latencies = []
        started = time.perf_counter()
        for n in range(singles):
            t0 = time.perf_counter()
            await publisher.publish(event(n))
            latencies.append((time.perf_counter() - t0) * 1000)
        single_elapsed = time.perf_counter() - started

        progress(f"{name}: publishing {events} events in atomic batches of 100")
        started = time.perf_counter()
        for first in range(0, events, 100):
            await publisher.publish_batch([event(n) for n in range(first, first + 100)])
        batch_elapsed = time.perf_counter() - started

        total = 1 + singles + (events // 100) * 100
        progress(f"{name}: consuming {total} events with the consumer runner")
        seen = 0

        async def count(_: DomainEvent[Any]) -> None:
            nonlocal seen
            seen += 1

        runner = ConsumerRunner(
            bus, group=f"bench-{uuid.uuid4().hex[:8]}", topics=[LIFECYCLE], handler=count
        )
        started = time.perf_counter()
        task = asyncio.create_task(runner.run())
        while seen < total:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        consume_elapsed = time.perf_counter() - started
        runner.stop()
        await task
    finally:
        await bus.stop()
    latencies.sort()
    return Result(
        bus=name,
        single_p50_ms=statistics.median(latencies),
        single_p99_ms=latencies[int(len(latencies) * 0.99) - 1],
        single_per_s=singles / single_elapsed,
        batch_per_s=(events // 100) * 100 / batch_elapsed,
        consume_per_s=total / consume_elapsed,
    )


def render(results: list[Result], events: int) -> str:
    """The Markdown report."""
    lines = [
        "# Bus benchmark",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({platform.machine()}, Python {platform.python_version()}) with "
        "`uv run python bench/bench_bus.py` "
        f"(`--events {events}`). Kafka is the local single-broker KRaft cluster from "
        "`deploy/local`; the embedded bus writes to a temporary SQLite file.",
        "",
        "| bus | publish one, p50 | publish one, p99 | publish one, events/s | "
        "atomic batches of 100, events/s | consumer runner (no-op handler), events/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.bus} | {r.single_p50_ms:.2f} ms | {r.single_p99_ms:.2f} ms | "
            f"{r.single_per_s:,.0f} | {r.batch_per_s:,.0f} | {r.consume_per_s:,.0f} |"
        )
    lines += [
        "",
        '"Publish one" is what intake does per request: it waits for the acknowledgement '
        "(Kafka: acks=all from the idempotent producer; embedded: a durable SQLite commit).",
        "",
    ]
    return "\n".join(lines)


async def main(events: int) -> None:
    """Measure both buses and write the report."""
    started_here = stack.ensure_started(["kafka"])
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results = [
                await measure(
                    "kafka",
                    lambda: KafkaBus(stack.KAFKA_BOOTSTRAP, client_id="aigov-bench"),
                    events,
                ),
                await measure("embedded", lambda: EmbeddedBus(Path(tmp) / "bus.sqlite3"), events),
            ]
    finally:
        stack.release(started_here)
    report = render(results, events)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report)
    print(report)
    progress(f"report written to {REPORT.relative_to(ROOT)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="events per throughput run")
    args = parser.parse_args()
    asyncio.run(main(args.events))
