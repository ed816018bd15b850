"""Services in one process that name the same embedded log share one bus."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigov_events.bus import OutgoingRecord, SharedBus
from aigov_events.buses import create_bus
from aigov_events.topics import SIGNALS

pytestmark = pytest.mark.asyncio


async def test_owners_of_one_file_share_a_bus_until_the_last_stops(tmp_path: Path) -> None:
    path = str(tmp_path / "bus.sqlite3")
    first, second = (
        create_bus("embedded", embedded_path=path),
        create_bus("embedded", embedded_path=path),
    )
    assert first is second
    assert isinstance(first, SharedBus)
    await first.start()
    await second.start()
    await first.ensure_topics([SIGNALS])
    subscription = second.subscribe(group="g", topics=[SIGNALS])
    await subscription.start()
    await first.stop()  # one owner leaves: the log stays open for the other
    await first.ping()
    await second.send([OutgoingRecord(SIGNALS, b"k", b"v", [])], atomic=False)
    records = await subscription.poll(max_wait=2.0, max_records=10)
    assert [r.value for r in records] == [b"v"]
    await subscription.close()
    await second.stop()
    third = create_bus("embedded", embedded_path=path)
    assert third is not first, "after the last owner stopped, the next one opens the log anew"
    await third.start()
    await third.ping()
    await third.stop()


async def test_different_files_are_different_buses(tmp_path: Path) -> None:
    a = create_bus("embedded", embedded_path=str(tmp_path / "a.sqlite3"))
    b = create_bus("embedded", embedded_path=str(tmp_path / "b.sqlite3"))
    assert a is not b
