"""The ledger's Merkle tree: RFC 9162 (Certificate Transparency 2.0) hashing and proofs.

Leaves are the ledger's records in their global append order; a leaf's hash is
SHA-256(0x00 || entry), an inner node's SHA-256(0x01 || left || right), and a tree of n
leaves splits at the largest power of two below n (RFC 9162, section 2.1.1).

A node is named `(level, index)`: it covers leaves `[index * 2**level, (index+1) * 2**level)`.
Once all its leaves exist a node never changes, so only those *complete* nodes are stored,
about two per leaf. The hash of any range the RFC's definitions use, for a tree of any
size, is a fold of complete nodes: the range's largest aligned power-of-two subtrees, left
to right, combined from the right (`range_nodes`, `fold`). So the root, inclusion proofs
and consistency proofs of an old tree size come from the same stored nodes as today's, and
a batch appended to a tree of size n needs only the nodes of n's own decomposition (at most
64) to compute every node it completes (`append_leaves`).

Everything here is pure; reading and writing nodes is `aigov_evidence.tlog.store`'s job.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Node",
    "ProofError",
    "append_leaves",
    "consistency_plan",
    "fold",
    "inclusion_plan",
    "leaf_hash",
    "node_hash",
    "range_nodes",
    "root_from",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
"""The root of the empty tree (RFC 9162: the hash of the empty string)."""

Node = tuple[int, int]
"""`(level, index)` of a complete subtree; level 0 are the leaves."""


class ProofError(ValueError):
    """A proof does not prove what it claims; the message says which check failed."""


def leaf_hash(entry: bytes) -> bytes:
    """The hash of a leaf whose entry is `entry`."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an inner node over two child hashes."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two strictly below `size` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[Node]:
    """The complete nodes, left to right, whose fold is the hash of leaves `[start, end)`.

    Every range the RFC's recursion visits starts at a multiple of its largest power-of-two
    part, so each part is one complete node.
    """
    if not 0 <= start < end:
        raise ValueError(f"empty or negative leaf range [{start}, {end})")
    nodes: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start % (1 << level):
            raise ValueError(f"leaf range [{start}, {end}) is not aligned as the tree splits")
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """Combine the hashes of `range_nodes` into the range's hash (from the right)."""
    if not hashes:
        raise ValueError("nothing to fold")
    out = hashes[-1]
    for left in reversed(hashes[:-1]):
        out = node_hash(left, out)
    return out


def root_from(size: int, nodes: Mapping[Node, bytes]) -> bytes:
    """The root of the tree of `size` leaves, from its complete nodes."""
    if size == 0:
        return EMPTY_ROOT
    return fold([nodes[node] for node in range_nodes(0, size)])


def inclusion_plan(index: int, size: int) -> list[list[Node]]:
    """The inclusion proof of leaf `index` in a tree of `size`, as the nodes of each hash.

    Proof hashes are in the RFC's order (`PATH(m, D[n])`): the leaf's sibling first, the
    root's other child last; each is the fold of the listed nodes.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    plan: list[list[Node]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            plan.append(range_nodes(start + k, end))
            end = start + k
        else:
            plan.append(range_nodes(start, start + k))
            start += k
    plan.reverse()
    return plan


def consistency_plan(old_size: int, new_size: int) -> list[list[Node]]:
    """The consistency proof from a tree of `old_size` to one of `new_size`, as nodes.

    RFC 9162's `PROOF(m, D[n])`; empty when the sizes are equal.
    """
    if not 0 < old_size <= new_size:
        raise ValueError(
            f"a consistency proof needs 0 < old size <= new size, got {old_size} and {new_size}"
        )
    plan: list[list[Node]] = []
    start, end, m = 0, new_size, old_size
    whole = True  # the old tree is a complete subtree of this range's left edge
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            plan.append(range_nodes(start + k, end))
            end = start + k
        else:
            plan.append(range_nodes(start, start + k))
            start += k
            m -= k
            whole = False
    if not whole:
        plan.append(range_nodes(start, end))
    plan.reverse()
    return plan


def append_leaves(
    size: int, frontier: Mapping[Node, bytes], leaves: Iterable[bytes]
) -> dict[Node, bytes]:
    """Every node that appending `leaves` (leaf hashes) to a tree of `size` completes.

    `frontier` holds the nodes of `range_nodes(0, size)` (the only old nodes a new one can
    combine with); the result includes the new leaves themselves.
    """
    known = dict(frontier)
    created: dict[Node, bytes] = {}
    for index, value in enumerate(leaves, start=size):
        level = 0
        known[(0, index)] = created[(0, index)] = value
        while index & 1:
            value = node_hash(known[(level, index - 1)], value)
            index >>= 1
            level += 1
            known[(level, index)] = created[(level, index)] = value
    return created


def _lsb(value: int) -> bool:
    return bool(value & 1)


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `leaf` (a leaf hash) is leaf `index` of the tree of `size` with `root`.

    RFC 9162, section 2.1.3.2. Raises `ProofError` naming what does not hold.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if _lsb(fn) or fn == sn:
            r = node_hash(p, r)
            if not _lsb(fn):
                while not _lsb(fn) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is deep")
    if r != root:
        raise ProofError("the inclusion proof leads to another root hash")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of `old_size` with `old_root` is a prefix of the newer one.

    RFC 9162, section 2.1.4.2. Raises `ProofError` naming what does not hold.
    """
    if not 0 < old_size <= new_size:
        raise ProofError(f"tree sizes {old_size} and {new_size} are not in order")
    if old_size == new_size:
        if proof:
            raise ProofError("a proof between equal tree sizes must be empty")
        if old_root != new_root:
            raise ProofError("two different root hashes for the same tree size")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the new tree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while _lsb(fn):
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the tree is deep")
        if _lsb(fn) or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not _lsb(fn):
                while not _lsb(fn) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is shorter than the tree is deep")
    if fr != old_root:
        raise ProofError("the consistency proof does not lead to the old root hash")
    if sr != new_root:
        raise ProofError("the consistency proof does not lead to the new root hash")
