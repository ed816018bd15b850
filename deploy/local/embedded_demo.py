"""`make run` until the all-in-one server exists: the event backbone working on the embedded bus.

Publishes one example event of every catalog type (plus one poison record) to the
durable embedded log under `.local/embedded/`, consumes them with the same consumer
runner the services use, and prints what happened: where each event went, how the
poison record was dead-lettered, and that the log and the group's offsets survive a
restart (run it twice: the second run only handles the new events).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from aigov_events.bus import OutgoingRecord
from aigov_events.catalog import MODELS
from aigov_events.consumer import DLQ_ERROR, ConsumerRunner, RetryPolicy
from aigov_events.embedded_bus import EmbeddedBus
from aigov_events.message import DomainEvent, new_event
from aigov_events.producer import Publisher
from aigov_events.testing import read_records
from aigov_events.topics import ALL_TOPICS, MAIN_TOPICS, dlq

ROOT = Path(__file__).resolve().parents[2]
LOG_FILE = ROOT / ".local" / "embedded" / "demo-bus.sqlite3"
GROUP = "embedded-demo"


def say(message: str = "") -> None:
    """Print one line of the demo's story."""
    print(message, flush=True)


async def main() -> int:
    """Publish, consume, dead-letter and report; returns the process exit code."""
    bus = EmbeddedBus(LOG_FILE)
    await bus.start()
    await bus.ensure_topics(ALL_TOPICS)
    ends_before = await bus.end_offsets(
        [(t, p) for t in MAIN_TOPICS for p in range(bus.partitions(t))]
    )
    say(f"aigov embedded event log: {LOG_FILE.relative_to(ROOT)}")
    say(f"  records already in the log from earlier runs: {sum(ends_before.values())}")

    publisher = Publisher(bus)
    events = [
        new_event(model.model_validate(model.example), source="/aigov/demo", actor="demo")
        for model in MODELS
    ]
    started = time.perf_counter()
    for event in events:
        await publisher.publish(event)
    say(
        f"published {len(events)} events, one of each catalog type, each acknowledged "
        f"durably ({(time.perf_counter() - started) * 1000:.0f} ms in all)"
    )
    await publisher.send_records(
        [OutgoingRecord(MAIN_TOPICS[0], b"demo-poison", b"this is not an event", [])]
    )
    say("published one poison record (no CloudEvents headers) to aigov.lifecycle")

    handled: Counter[str] = Counter()
    all_handled = asyncio.Event()

    async def handle(event: DomainEvent[Any]) -> None:
        handled[event.topic] += 1
        say(f"  handled {event.type:<42} system={event.system_id:<20} topic={event.topic}")
        if sum(handled.values()) >= len(events):
            all_handled.set()

    say("consuming with the consumer runner (group 'embedded-demo'):")
    runner = ConsumerRunner(
        bus,
        group=GROUP,
        topics=MAIN_TOPICS,
        handler=handle,
        retry=RetryPolicy(attempts=2, initial_backoff=0.05),
    )
    task = asyncio.create_task(runner.run())
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_handled.wait(), 30)
    # The poison record may sit behind the last event: wait (up to 10 s) until all is committed.
    for _ in range(200):
        if not await _lag(bus):
            break
        await asyncio.sleep(0.05)
    runner.stop()
    await task

    letters = await read_records(
        bus, [dlq(MAIN_TOPICS[0])], count=1, max_wait=2, group=f"demo-{uuid.uuid4()}"
    )
    lag = await _lag(bus)
    await bus.stop()

    say()
    say("per topic: " + ", ".join(f"{t}={handled[t]}" for t in MAIN_TOPICS))
    if letters:
        error = dict(letters[-1].headers)[DLQ_ERROR].decode()
        say(f"dead letters in aigov.lifecycle.dlq: {len(letters)} (latest error: {error})")
    say(f"consumer lag after the run: {lag} (every record committed)")
    say()
    say("Run `make run` again: the log and the group's offsets are on disk, so only the new")
    say("events are handled. The HTTP services (intake, tiering, evidence, monitoring-router)")
    say("arrive with the next issues; `make up` already starts their skeletons on real Kafka and")
    say("PostgreSQL, with /healthz, /readyz and /metrics.")
    ok = sum(handled.values()) == len(events) and lag == 0 and bool(letters)
    return 0 if ok else 1


async def _lag(bus: EmbeddedBus) -> int:
    """Records the demo group has not committed (read from the log, without joining the group)."""
    partitions = [(t, p) for t in MAIN_TOPICS for p in range(bus.partitions(t))]
    ends = await bus.end_offsets(partitions)
    committed = await bus.committed(GROUP, partitions)
    return sum(ends[tp] - committed[tp] for tp in partitions)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="  [%(levelname)s] %(message)s")
    sys.exit(asyncio.run(main()))
