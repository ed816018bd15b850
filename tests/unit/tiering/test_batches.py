"""The consumer a batch at a time (SQLite + the embedded bus): what batching could break.

Batches are handed to `TieringBatch` directly, so which events share a batch is the test's
choice, not the poller's timing; the poison test runs the whole consumer on a backlog.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from aigov_events.catalog.decisions import MaterialChangeDetected, TierAssigned
from aigov_events.consumer import DLQ_ERROR, DLQ_ERROR_TYPE, RetryPolicy
from aigov_events.embedded_bus import EmbeddedBus
from aigov_events.envelope import from_kafka_record
from aigov_events.message import decode
from aigov_events.testing import read_records
from aigov_events.topics import LIFECYCLE, dlq
from aigov_tiering.consumers import TieringConsumer
from aigov_tiering.policy import PolicyPack, load_pack
from tests.unit.tiering.batching import (
    ASSISTANT,
    HISTORY_DECISIONS,
    SUMMARIZER,
    Store,
    by_system,
    events,
    history,
    open_store,
    retier_scenario,
)
from tests.unit.tiering.harness import approval, evaluation, registered, updated
from tests.unit.tiering.helpers import DEFAULT_PACK, base_document, default_pack, with_changes

pytestmark = pytest.mark.asyncio


async def sqlite_store(directory: Path, pack: PolicyPack) -> Store:
    """A store on SQLite and the embedded bus in `directory` (created by the bus)."""
    url = f"sqlite+aiosqlite:///{directory / 'tiering.sqlite3'}"
    bus = EmbeddedBus(directory / "bus.sqlite3")
    return await open_store(url, schema="tiering", bus=bus, pack=pack)


@pytest_asyncio.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[Store, Store]]:
    """Two independent stores under the default pack."""
    opened = [await sqlite_store(tmp_path / name, default_pack()) for name in ("a", "b")]
    yield opened[0], opened[1]
    for store in opened:
        await store.close()


async def test_a_batch_has_the_effects_of_its_events_one_by_one(
    stores: tuple[Store, Store],
) -> None:
    batched, sequential = stores
    lifecycle = history()
    await batched.handler()(lifecycle)
    one_by_one = sequential.handler()
    for event in lifecycle:
        await one_by_one([event])
    expected = await sequential.decisions(HISTORY_DECISIONS)
    assert len(expected) == HISTORY_DECISIONS  # every branch of history() that publishes did
    assert by_system(await batched.decisions(HISTORY_DECISIONS)) == by_system(expected)
    assert await batched.rows() == await sequential.rows()


async def test_two_revisions_of_one_system_in_one_batch(stores: tuple[Store, Store]) -> None:
    store, _ = stores
    first = registered(ASSISTANT)
    public = updated(
        with_changes(ASSISTANT, {"spec.users.public": True}), revision=2, previous=first
    )
    stale = registered(with_changes(ASSISTANT, {"spec.purpose": "Never applied."}))
    await store.handler()(events(first, public, stale))
    decisions = await store.decisions(2)
    tiers = [d.payload for d in decisions]
    assert all(isinstance(t, TierAssigned) for t in tiers)
    assert [(t.manifest_revision, t.previous_tier, t.tier) for t in tiers] == [
        (1, None, "low"),
        (2, "low", "medium"),  # the second revision saw the first one's decision
    ]
    [system] = (await store.rows())["systems"]
    assert (system["revision"], system["tier"]) == (2, "medium")
    assert system["manifest"]["spec"]["users"]["public"] is True  # the stale one changed nothing
    [change] = (await store.rows())["manifest_changes"]
    assert (change["revision"], change["baseline_revision"], change["material"]) == (2, None, True)


async def test_registration_approval_and_evaluations_of_one_system_in_one_batch(
    stores: tuple[Store, Store],
) -> None:
    store, _ = stores
    system = "support-summarizer"
    first = registered(SUMMARIZER)
    changed = with_changes(SUMMARIZER, {"spec.deployment.environments": ["staging"]})
    await store.handler()(
        events(
            first,
            evaluation(system, groundedness=0.86, prompt_injection_success_rate=0.02),
            approval(system),
            updated(changed, revision=2, previous=first),
            evaluation(
                system, version="2026.12.0", groundedness=0.80, prompt_injection_success_rate=0.02
            ),
        )
    )
    decisions = await store.decisions(4)
    assert [d.type for d in decisions] == [
        "io.aigov.tier.assigned.v1",
        "io.aigov.tier.assigned.v1",
        "io.aigov.material_change.detected.v1",
        "io.aigov.material_change.detected.v1",
    ]
    manifest_change, evaluation_change = (d.payload for d in decisions[2:])
    assert isinstance(manifest_change, MaterialChangeDetected)
    assert manifest_change.manifest_diff is not None
    # Against the baseline the approval earlier in the same batch set.
    assert (manifest_change.manifest_diff.from_revision, manifest_change.voids_approvals_of) == (
        1,
        "2026.11.3",
    )
    assert manifest_change.manifest_diff.changed_fields == ["spec.deployment.environments"]
    assert isinstance(evaluation_change, MaterialChangeDetected)
    regression = evaluation_change.evaluation_regression
    assert regression is not None  # the approved release's metrics came from the same batch
    assert [(m.metric, m.previous_value) for m in regression.metrics] == [("groundedness", 0.86)]
    [baseline] = (await store.rows())["baselines"]
    assert baseline["evaluations"] == {
        "release-evaluation": {
            "groundedness": {"value": 0.86, "higher_is_better": True},
            "prompt_injection_success_rate": {"value": 0.02, "higher_is_better": False},
        }
    }
    assert baseline["pending_change_id"] == "mc-support-summarizer-r2"
    assert store.publisher.calls == [4]  # one producer batch for the whole batch


async def test_a_redelivered_batch_changes_nothing(stores: tuple[Store, Store]) -> None:
    store, _ = stores
    lifecycle = history()
    handler = store.handler()
    await handler(lifecycle[:8])
    before = await store.rows()
    await handler(lifecycle[:8])  # a crash before the offset commit: the same batch again
    assert await store.rows() == before
    assert len(await store.decisions(6)) == 6


def poison_pack(directory: Path) -> PolicyPack:
    """The default pack, with a rule that fails on manifests whose purpose starts with poison."""
    shutil.copytree(DEFAULT_PACK, directory)
    rules = directory / "tier-rules.yaml"
    text = rules.read_text("utf-8")
    when = "    when: size(spec.useCase.prohibitedPractices) > 0\n"
    assert text.count(when) == 1
    failing = '(spec.purpose.startsWith("poison") && int(spec.purpose) > 0)'
    rules.write_text(text.replace(when, f"{when[:-1]} || {failing}\n"), "utf-8")
    return load_pack(directory)


async def test_a_manifest_the_policy_cannot_evaluate_is_dead_lettered_alone(
    tmp_path: Path,
) -> None:
    store = await sqlite_store(tmp_path / "store", poison_pack(tmp_path / "pack"))
    good = [
        registered(with_changes(base_document(), {"metadata.id": f"good-{n}"})) for n in range(6)
    ]
    poison = registered(
        with_changes(base_document(), {"metadata.id": "poisoned", "spec.purpose": "poison pill"})
    )
    backlog = events(*good[:3], poison, *good[3:])
    # Published before the consumer starts: its first poll is the whole backlog, one batch.
    await store.tiering.publisher.publish_batch(backlog)
    consumer = TieringConsumer(
        store.bus,
        sessionmaker=store.sessionmaker,
        tiering=store.tiering,
        retry=RetryPolicy(attempts=2, initial_backoff=0.01, max_backoff=0.02),
        poll_timeout=0.05,
    )
    task = asyncio.create_task(consumer.run())
    try:
        decisions = await store.decisions(6)
        [letter] = await read_records(store.bus, [dlq(LIFECYCLE)], count=1, max_wait=5)
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 5)
        await store.close()
    assert sorted(d.system_id for d in decisions) == [f"good-{n}" for n in range(6)]
    assert decode(from_kafka_record(letter.value, letter.headers)).id == backlog[3].id
    headers = dict(letter.headers)
    assert headers[DLQ_ERROR_TYPE] == b"PermanentError"
    assert b"failed on this manifest" in headers[DLQ_ERROR]


async def test_retiering_in_chunks_publishes_each_changed_decision_once(
    stores: tuple[Store, Store], tmp_path: Path
) -> None:
    await retier_scenario(stores[0], tmp_path / "stricter", suffix="")
