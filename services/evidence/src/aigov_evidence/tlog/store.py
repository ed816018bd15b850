"""The log's Merkle tree in the database: leaves and complete inner nodes, append-only.

`append_records` adds a batch of new ledger records to the tree in the ledger's append
transaction: under one tree-wide lock (a transaction-scoped advisory lock on PostgreSQL;
SQLite has one writer) it reads the tree size and the at most 64 nodes of its decomposition,
computes every node the batch completes (`tree.append_leaves`) and writes leaves and nodes
by COPY. Roots and proofs of any size up to the current one are folds of stored nodes.
`grow` adds records that are in the ledger but not in the tree (written before the tree
existed, or bulk-loaded), in ledger order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Final

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_evidence.models import LEDGER, TLOG_LEAVES, TLOG_NODES
from aigov_evidence.tlog.records import record_leaf_hash
from aigov_evidence.tlog.tree import (
    EMPTY_ROOT,
    Node,
    append_leaves,
    consistency_plan,
    fold,
    inclusion_plan,
    range_nodes,
)
from aigov_runtime.database import copy_rows, dialect_name

__all__ = [
    "Record",
    "TreeError",
    "append_records",
    "consistency_proof",
    "grow",
    "inclusion_proof",
    "leaf_of",
    "root",
    "tree_size",
]

Record = tuple[str, int, str]
"""A ledger record as the tree sees it: (system_id, sequence, chain hash)."""

_TREE_LOCK: Final = int.from_bytes(hashlib.sha256(b"aigov tlog").digest()[:8], "big", signed=True)


class TreeError(RuntimeError):
    """The stored tree lacks a node it must have: the log's tables were tampered with."""


async def _lock_tree(session: AsyncSession) -> None:
    """Serialise tree appends until the transaction ends (re-entrant; SQLite has one writer)."""
    if dialect_name(session) == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _TREE_LOCK})


async def tree_size(session: AsyncSession) -> int:
    """How many leaves the tree has."""
    last = await session.scalar(select(func.max(TLOG_LEAVES.c.leaf_index)))
    return 0 if last is None else int(last) + 1


async def _nodes(session: AsyncSession, wanted: Iterable[Node]) -> dict[Node, bytes]:
    wanted = set(wanted)
    leaves = sorted(index for level, index in wanted if level == 0)
    inner = sorted(node for node in wanted if node[0] > 0)
    found: dict[Node, bytes] = {}
    if leaves:
        leaf_rows = await session.execute(
            select(TLOG_LEAVES.c.leaf_index, TLOG_LEAVES.c.hash).where(
                TLOG_LEAVES.c.leaf_index.in_(leaves)
            )
        )
        found.update(((0, int(index)), bytes(value)) for index, value in leaf_rows)
    if inner:
        node_rows = await session.execute(
            select(TLOG_NODES.c.level, TLOG_NODES.c.node_index, TLOG_NODES.c.hash).where(
                tuple_(TLOG_NODES.c.level, TLOG_NODES.c.node_index).in_(inner)
            )
        )
        found.update(((int(level), int(index)), bytes(value)) for level, index, value in node_rows)
    missing = wanted - found.keys()
    if missing:
        raise TreeError(f"the tree lacks {len(missing)} node(s), e.g. {min(missing)}")
    return found


async def append_records(session: AsyncSession, records: Sequence[Record]) -> int:
    """Add `records` to the tree, in order, in the session's transaction; the new tree size."""
    await _lock_tree(session)
    size = await tree_size(session)
    if not records:
        return size
    frontier = await _nodes(session, range_nodes(0, size)) if size else {}
    hashes = [record_leaf_hash(*record) for record in records]
    created = append_leaves(size, frontier, hashes)
    await copy_rows(
        session,
        TLOG_LEAVES,
        [
            {"leaf_index": size + i, "system_id": s, "sequence": q, "hash": h}
            for i, ((s, q, _), h) in enumerate(zip(records, hashes, strict=True))
        ],
    )
    inner = [
        {"level": level, "node_index": index, "hash": value}
        for (level, index), value in created.items()
        if level > 0
    ]
    await copy_rows(session, TLOG_NODES, inner)
    return size + len(records)


async def grow(sessionmaker: async_sessionmaker[AsyncSession], *, batch: int = 5_000) -> int:
    """Add every ledger record the tree lacks, in ledger order, a batch per transaction."""
    added = 0
    after = 0  # keyset on the ledger's id: each record is looked at once
    while True:
        async with sessionmaker() as session, session.begin():
            await _lock_tree(session)  # before reading, so an append cannot slip in between
            rows = list(
                await session.execute(
                    select(LEDGER.c.id, LEDGER.c.system_id, LEDGER.c.sequence, LEDGER.c.hash)
                    .where(
                        LEDGER.c.id > after,
                        ~select(TLOG_LEAVES.c.leaf_index)
                        .where(
                            TLOG_LEAVES.c.system_id == LEDGER.c.system_id,
                            TLOG_LEAVES.c.sequence == LEDGER.c.sequence,
                        )
                        .exists(),
                    )
                    .order_by(LEDGER.c.id)
                    .limit(batch)
                )
            )
            if not rows:
                return added
            after = int(rows[-1][0])
            await append_records(session, [(str(s), int(q), str(h)) for _, s, q, h in rows])
            added += len(rows)


async def root(session: AsyncSession, size: int) -> bytes:
    """The root hash of the tree when it had `size` leaves."""
    if size == 0:
        return EMPTY_ROOT
    parts = range_nodes(0, size)
    nodes = await _nodes(session, parts)
    return fold([nodes[node] for node in parts])


async def inclusion_proof(session: AsyncSession, leaf_index: int, size: int) -> list[bytes]:
    """The inclusion proof of leaf `leaf_index` in the tree of `size` leaves."""
    plan = inclusion_plan(leaf_index, size)
    nodes = await _nodes(session, (node for part in plan for node in part))
    return [fold([nodes[node] for node in part]) for part in plan]


async def consistency_proof(session: AsyncSession, old_size: int, new_size: int) -> list[bytes]:
    """The consistency proof from the tree of `old_size` leaves to the one of `new_size`."""
    plan = consistency_plan(old_size, new_size)
    nodes = await _nodes(session, (node for part in plan for node in part))
    return [fold([nodes[node] for node in part]) for part in plan]


async def leaf_of(session: AsyncSession, system_id: str, sequence: int) -> tuple[int, bytes] | None:
    """A record's leaf index and leaf hash, if it is in the tree."""
    row = (
        await session.execute(
            select(TLOG_LEAVES.c.leaf_index, TLOG_LEAVES.c.hash).where(
                TLOG_LEAVES.c.system_id == system_id, TLOG_LEAVES.c.sequence == sequence
            )
        )
    ).first()
    return None if row is None else (int(row[0]), bytes(row[1]))
