"""Verification never reports an intact chain as broken while records are being appended.

The appender runs in its own thread, event loop and engine (like a second consumer process),
so its commits land at any moment of a verification; PostgreSQL, real service, real HTTP route.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from aigov_evidence.consumers import record_batch
from aigov_evidence.ledger import entry_from_event
from aigov_runtime.database import create_engine, create_sessionmaker
from tests.unit.evidence import events as ev
from tests.unit.evidence.harness import READER, Harness, auth

pytestmark = [pytest.mark.asyncio, pytest.mark.integration, pytest.mark.timeout(240)]

SYSTEM = "verify-under-load"
VERIFICATIONS = 60


def _burst(evidence: Harness, stop: threading.Event) -> int:
    """Append small batches to SYSTEM until `stop` is set; returns how many were appended."""

    async def appender() -> int:
        engine = create_engine(
            evidence.settings.database_url, schema=evidence.settings.evidence_schema
        )
        sessionmaker = create_sessionmaker(engine)
        appended = 0
        try:
            while not stop.is_set():
                batch = [entry_from_event(ev.approval(SYSTEM)) for _ in range(3)]
                appended += len(await record_batch(sessionmaker, batch))
        finally:
            await engine.dispose()
        return appended

    return asyncio.run(appender())


async def test_no_false_alarm_during_a_burst_of_appends(evidence: Harness) -> None:
    await evidence.publish(ev.registered(SYSTEM), ev.high_tier(SYSTEM))
    stop = threading.Event()
    burst = asyncio.create_task(asyncio.to_thread(_burst, evidence, stop))
    results: list[dict[str, Any]] = []
    try:
        await asyncio.sleep(0.2)  # the burst is under way
        for _ in range(VERIFICATIONS):
            response = await evidence.client.get(
                f"/v1/systems/{SYSTEM}/ledger/verify", headers=auth(READER)
            )
            assert response.status_code == 200, response.text
            results.append(response.json())
    finally:
        stop.set()
        appended = await burst
    assert appended > 0
    alarms = [r["reason"] for r in results if not r["ok"]]
    assert alarms == [], f"{len(alarms)} of {VERIFICATIONS} verifications raised a false alarm"
    assert results[-1]["records"] > results[0]["records"], "appends were concurrent"
