"""The transparency log's tree as the ledger writes it (SQLite; PostgreSQL in the integration suite)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_evidence.consumers import record_batch
from aigov_evidence.ledger import entry_from_event
from aigov_evidence.tlog import store
from aigov_evidence.tlog.tree import verify_consistency
from tests.unit.evidence import events as ev
from tests.unit.evidence.tlog_checks import assert_tree_matches_ledger

pytestmark = pytest.mark.asyncio

Sessions = async_sessionmaker[AsyncSession]


async def test_every_appended_record_is_a_leaf_in_append_order(sessionmaker: Sessions) -> None:
    sizes: list[int] = []
    roots: list[bytes] = []
    for round_ in range(5):
        batch = [
            entry_from_event(event)
            for system in (f"tree-{n}" for n in range(round_ + 2))
            for event in (ev.registered(system), ev.high_tier(system))
        ]
        appended = await record_batch(sessionmaker, batch)
        assert len(appended) == len(batch)
        async with sessionmaker() as session:
            sizes.append(await store.tree_size(session))
            roots.append(await store.root(session, sizes[-1]))
    assert sizes == [4, 10, 18, 28, 40]
    async with sessionmaker() as session:
        entries = await assert_tree_matches_ledger(session)
        assert len(entries) == 40
        # Each earlier tree head is a prefix of the latest one, as a witness would check.
        for size, root in zip(sizes, roots, strict=True):
            proof = await store.consistency_proof(session, size, sizes[-1])
            verify_consistency(size, sizes[-1], root, roots[-1], proof)


async def test_a_redelivered_batch_adds_no_leaf(sessionmaker: Sessions) -> None:
    batch = [
        entry_from_event(ev.registered("tree-again")),
        entry_from_event(ev.high_tier("tree-again")),
    ]
    await record_batch(sessionmaker, batch)
    assert await record_batch(sessionmaker, batch) == []
    async with sessionmaker() as session:
        assert await store.tree_size(session) == 2
        await assert_tree_matches_ledger(session)
