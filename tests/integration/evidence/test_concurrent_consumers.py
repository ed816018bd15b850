"""Two ledger consumer processes on 6-partition topics keep every chain and the log's tree valid.

Partitions move between the processes while events flow (the second joins mid-stream, the
first leaves mid-stream), and part of the stream is delivered twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from aigov_events.message import DomainEvent
from aigov_events.producer import Publisher
from aigov_events.topics import ALL_TOPICS
from aigov_evidence.app import MIGRATIONS
from aigov_evidence.models import LEDGER
from aigov_evidence.settings import Settings
from aigov_evidence.verification import verify
from aigov_runtime.database import create_engine, create_sessionmaker
from aigov_runtime.migrations import upgrade_to_head
from aigov_runtime.resources import open_bus
from tests.integration.evidence.conftest import drop_private, private_settings
from tests.unit.evidence import events as ev
from tests.unit.evidence.tlog_checks import assert_tree_matches_ledger

pytestmark = [pytest.mark.asyncio, pytest.mark.integration, pytest.mark.timeout(240)]

SYSTEMS = [f"concurrent-{n:02d}" for n in range(24)]
ROUNDS = 3
PER_ROUND = 15  # events per system per round


def _environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "AIGOV_DATABASE_URL": settings.database_url,
        "AIGOV_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "AIGOV_TOPIC_PREFIX": settings.topic_prefix,
        "AIGOV_TOPIC_PARTITIONS": "6",
        "AIGOV_EVIDENCE_SCHEMA": settings.evidence_schema,
        "AIGOV_EVIDENCE_CONSUMER_GROUP": settings.evidence_consumer_group,
        # Small batches: more transactions, more chances to interleave the two processes.
        "AIGOV_EVIDENCE_BATCH_SIZE": "40",
        "AIGOV_EVIDENCE_CHECKPOINT_INTERVAL_SECONDS": "0",
        "AIGOV_EVIDENCE_WAIVER_SWEEP_INTERVAL_SECONDS": "0",
        "AIGOV_MIGRATE_ON_START": "false",
        "AIGOV_AUTH_TOKENS": "{}",
        # The ledger consumer logs each recorded batch at debug level: proof both processes worked.
        "AIGOV_LOG_LEVEL": "DEBUG",
    }


async def _start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """Start `python -m aigov_evidence.worker` and wait until its consumer joined the group."""

    def start() -> subprocess.Popen[bytes]:
        with log.open("wb") as handle:
            return subprocess.Popen(
                [sys.executable, "-m", "aigov_evidence.worker"],
                env=_environment(settings),
                stdout=handle,
                stderr=subprocess.STDOUT,
            )

    process = await asyncio.to_thread(start)
    async with asyncio.timeout(60):
        while b'"consumer started"' not in await asyncio.to_thread(log.read_bytes):
            assert process.poll() is None, "the worker exited before joining its group"
            await asyncio.sleep(0.1)
    return process


async def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return await asyncio.to_thread(process.wait, 60)


def _round(n: int) -> list[DomainEvent[Any]]:
    return [
        ev.probe(system, name=f"drift-probe-{n}-{i}", ok=i % 2 == 0)
        for i in range(PER_ROUND)
        for system in SYSTEMS
    ]


async def test_two_consumer_processes_keep_chains_valid(local_stack: Any, tmp_path: Path) -> None:
    settings = private_settings(local_stack, tmp_path, topic_partitions=6)
    await asyncio.to_thread(
        upgrade_to_head,
        MIGRATIONS,
        database_url=settings.database_url,
        schema=settings.evidence_schema,
    )
    bus = open_bus(settings, client_id="concurrency-test")
    engine = create_engine(settings.database_url, schema=settings.evidence_schema)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        await bus.start()
        await bus.ensure_topics(ALL_TOPICS)
        publisher = Publisher(bus)
        rounds = [_round(n) for n in range(ROUNDS)]

        workers.append(await _start_worker(settings, tmp_path / "worker-1.log"))
        await publisher.publish_batch(rounds[0])
        workers.append(await _start_worker(settings, tmp_path / "worker-2.log"))
        await publisher.publish_batch(rounds[1])
        assert await _stop(workers[0]) == 0, (tmp_path / "worker-1.log").read_text()
        # Redelivery: the first round again (same ids), then the last round.
        await publisher.publish_batch(rounds[0])
        await publisher.publish_batch(rounds[2])

        expected = ROUNDS * PER_ROUND * len(SYSTEMS)
        sessionmaker = create_sessionmaker(engine)
        async with asyncio.timeout(120):
            while True:
                async with sessionmaker() as session:
                    count = await session.scalar(select(func.count()).select_from(LEDGER))
                if count == expected:
                    break
                assert count is not None
                assert count < expected, "a redelivered event was appended"
                await asyncio.sleep(0.2)
        assert await _stop(workers[1]) == 0, (tmp_path / "worker-2.log").read_text()
        async with sessionmaker() as session:
            for system in SYSTEMS:
                result = await verify(session, system)
                assert result.ok, (system, result.broken_at, result.reason)
                assert result.records == ROUNDS * PER_ROUND
            # One tree over both processes' appends: every record one leaf, proofs sound.
            assert len(await assert_tree_matches_ledger(session)) == expected
        log_1 = (tmp_path / "worker-1.log").read_text()
        log_2 = (tmp_path / "worker-2.log").read_text()
        assert "dead-lettered" not in log_1 + log_2
        assert '"ledger batch recorded"' in log_1
        assert '"ledger batch recorded"' in log_2
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        await bus.stop()
        await engine.dispose()
        await drop_private(local_stack, settings)
