"""A check shared by the SQLite and PostgreSQL tests: the stored tree is the ledger's tree."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_evidence.models import LEDGER, TLOG_LEAVES, TLOG_NODES
from aigov_evidence.tlog import store
from aigov_evidence.tlog.records import record_entry
from aigov_evidence.tlog.tree import leaf_hash, verify_consistency, verify_inclusion
from tests.unit.evidence.test_tlog_tree import mth


async def assert_tree_matches_ledger(session: AsyncSession) -> list[bytes]:
    """Every record is one leaf; leaves, nodes, root and proofs agree with RFC 9162's tree.

    Returns the leaf entries in leaf order.
    """
    records = {
        (s, q): h
        for s, q, h in await session.execute(
            select(LEDGER.c.system_id, LEDGER.c.sequence, LEDGER.c.hash)
        )
    }
    leaves = list(
        await session.execute(
            select(
                TLOG_LEAVES.c.leaf_index,
                TLOG_LEAVES.c.system_id,
                TLOG_LEAVES.c.sequence,
                TLOG_LEAVES.c.hash,
            ).order_by(TLOG_LEAVES.c.leaf_index)
        )
    )
    assert [int(i) for i, *_ in leaves] == list(range(len(records)))
    assert {(s, q) for _, s, q, _ in leaves} == set(records)
    entries = [record_entry(s, q, records[(s, q)]) for _, s, q, _ in leaves]
    assert [bytes(h) for *_, h in leaves] == [leaf_hash(e) for e in entries]
    size = len(entries)
    assert await store.tree_size(session) == size
    root = await store.root(session, size)
    assert root == mth(entries)
    # Every stored inner node is the hash of its leaves.
    for level, index, value in await session.execute(
        select(TLOG_NODES.c.level, TLOG_NODES.c.node_index, TLOG_NODES.c.hash)
    ):
        assert bytes(value) == mth(entries[index << level : (index + 1) << level])
    for index in range(0, size, max(1, size // 25)):
        proof = await store.inclusion_proof(session, index, size)
        verify_inclusion(index, size, leaf_hash(entries[index]), proof, root)
    for old in range(1, size, max(1, size // 10)):
        proof = await store.consistency_proof(session, old, size)
        verify_consistency(old, size, mth(entries[:old]), root, proof)
    return entries
