"""What a leaf of the log commits to: one ledger record, by its system, sequence and chain hash.

The chain hash already commits to the record's event (its RFC 8785 hash), its position in
its system's chain and the record before it; the leaf adds the system, so a leaf names
exactly one record of one chain. Anyone holding a record (its attributes and data, its
`prev_hash`) recomputes the entry without aigov: `event_hash`, then `link_hash`, then this.
"""

from __future__ import annotations

from typing import Final

from aigov_evidence.tlog.tree import leaf_hash

__all__ = ["ENTRY_TYPE", "record_entry", "record_leaf_hash"]

ENTRY_TYPE: Final = "aigov.ledger.record.v1"


def record_entry(system_id: str, sequence: int, chain_hash: str) -> bytes:
    """The leaf entry of a record: four lines of UTF-8 text, each ending in a newline."""
    return f"{ENTRY_TYPE}\n{system_id}\n{sequence}\n{chain_hash}\n".encode()


def record_leaf_hash(system_id: str, sequence: int, chain_hash: str) -> bytes:
    """The RFC 9162 leaf hash of a record's entry."""
    return leaf_hash(record_entry(system_id, sequence, chain_hash))
