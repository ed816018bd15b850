"""The ledger's Merkle tree against RFC 9162's own definitions and Certificate Transparency's vectors."""

from __future__ import annotations

import hashlib
import random

import pytest

from aigov_evidence.tlog.tree import (
    EMPTY_ROOT,
    Node,
    ProofError,
    append_leaves,
    consistency_plan,
    fold,
    inclusion_plan,
    leaf_hash,
    node_hash,
    range_nodes,
    root_from,
    verify_consistency,
    verify_inclusion,
)

# The leaf inputs and roots of the RFC 6962 test tree (transparency-dev/merkle's testonly data).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


# RFC 9162, section 2.1, written as the RFC states it (recursion over the leaf list).
def mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*subproof(m, leaves[:k], whole), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def leaves_of(count: int) -> list[bytes]:
    return [f"record {i}".encode() for i in range(count)]


def grown(leaves: list[bytes], seed: int) -> dict[Node, bytes]:
    """The tree's complete nodes, built by appending `leaves` in random batches."""
    rng = random.Random(seed)
    nodes: dict[Node, bytes] = {}
    size = 0
    while size < len(leaves):
        batch = leaves[size : size + rng.randint(1, 7)]
        frontier = {n: nodes[n] for n in range_nodes(0, size)} if size else {}
        nodes.update(append_leaves(size, frontier, [leaf_hash(x) for x in batch]))
        size += len(batch)
    return nodes


def proof_of(plan: list[list[Node]], nodes: dict[Node, bytes]) -> list[bytes]:
    return [fold([nodes[n] for n in part]) for part in plan]


class TestKnownAnswers:
    def test_the_certificate_transparency_test_tree_has_its_published_roots(self) -> None:
        nodes = grown(CT_LEAVES, seed=1)
        assert [root_from(size, nodes).hex() for size in range(9)] == CT_ROOTS
        assert EMPTY_ROOT.hex() == CT_ROOTS[0]


class TestAgainstTheRfcDefinitions:
    @pytest.mark.parametrize("size", range(1, 41))
    def test_roots_and_inclusion_proofs(self, size: int) -> None:
        leaves = leaves_of(size)
        nodes = grown(leaves, seed=size)
        root = root_from(size, nodes)
        assert root == mth(leaves)
        # Each stored node is the hash of its own leaves.
        for (level, index), value in nodes.items():
            assert value == mth(leaves[index << level : (index + 1) << level])
        for m in range(size):
            proof = proof_of(inclusion_plan(m, size), nodes)
            assert proof == path(m, leaves)
            verify_inclusion(m, size, leaf_hash(leaves[m]), proof, root)

    @pytest.mark.parametrize("size", range(1, 41))
    def test_consistency_proofs_from_every_older_size(self, size: int) -> None:
        leaves = leaves_of(size)
        nodes = grown(leaves, seed=size + 100)
        for m in range(1, size + 1):
            proof = proof_of(consistency_plan(m, size), nodes)
            assert proof == subproof(m, leaves, True)
            verify_consistency(m, size, mth(leaves[:m]), mth(leaves), proof)


class TestTampering:
    SIZE = 21

    def setup_method(self) -> None:
        self.leaves = leaves_of(self.SIZE)
        self.nodes = grown(self.leaves, seed=7)
        self.root = root_from(self.SIZE, self.nodes)

    def test_every_changed_inclusion_proof_is_refused(self) -> None:
        m = 13
        proof = proof_of(inclusion_plan(m, self.SIZE), self.nodes)
        leaf = leaf_hash(self.leaves[m])
        for i in range(len(proof)):
            bad = list(proof)
            bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
            with pytest.raises(ProofError, match="another root"):
                verify_inclusion(m, self.SIZE, leaf, bad, self.root)
        with pytest.raises(ProofError, match="another root"):
            verify_inclusion(m, self.SIZE, leaf_hash(b"forged"), proof, self.root)
        with pytest.raises(ProofError):
            verify_inclusion(m - 1, self.SIZE, leaf, proof, self.root)
        with pytest.raises(ProofError, match="shorter"):
            verify_inclusion(m, self.SIZE, leaf, proof[:-1], self.root)
        with pytest.raises(ProofError, match="longer"):
            verify_inclusion(m, self.SIZE, leaf, [*proof, proof[0]], self.root)
        with pytest.raises(ProofError, match="outside"):
            verify_inclusion(self.SIZE, self.SIZE, leaf, proof, self.root)

    def test_every_changed_consistency_proof_is_refused(self) -> None:
        for old in (4, 13):  # a power of two (its root is a node) and not
            old_root = root_from(old, self.nodes)
            proof = proof_of(consistency_plan(old, self.SIZE), self.nodes)
            for i in range(len(proof)):
                bad = list(proof)
                bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
                with pytest.raises(ProofError, match="root hash"):
                    verify_consistency(old, self.SIZE, old_root, self.root, bad)
            # A forged old root: for a power of two it starts the path, so the new root breaks.
            with pytest.raises(ProofError, match="root hash"):
                verify_consistency(old, self.SIZE, node_hash(old_root, old_root), self.root, proof)
            with pytest.raises(ProofError, match="new root"):
                verify_consistency(old, self.SIZE, old_root, old_root, proof)
            with pytest.raises(ProofError):
                verify_consistency(old, self.SIZE, old_root, self.root, proof[:-1])
            with pytest.raises(ProofError, match="empty"):
                verify_consistency(old, self.SIZE, old_root, self.root, [])

    def test_equal_sizes_prove_only_equal_roots(self) -> None:
        verify_consistency(self.SIZE, self.SIZE, self.root, self.root, [])
        with pytest.raises(ProofError, match="different root"):
            verify_consistency(self.SIZE, self.SIZE, self.root, EMPTY_ROOT, [])
        with pytest.raises(ProofError, match="not in order"):
            verify_consistency(self.SIZE, 3, self.root, self.root, [])


class TestPlans:
    def test_bad_requests_are_refused(self) -> None:
        with pytest.raises(ValueError, match="not in a tree"):
            inclusion_plan(5, 5)
        with pytest.raises(ValueError, match="0 < old size"):
            consistency_plan(0, 5)
        with pytest.raises(ValueError, match="0 < old size"):
            consistency_plan(6, 5)
        with pytest.raises(ValueError, match="not aligned"):
            range_nodes(1, 5)

    def test_a_million_leaf_tree_needs_at_most_its_depth_in_nodes(self) -> None:
        size = 1_000_003
        assert len(range_nodes(0, size)) == bin(size).count("1")
        assert sum(len(p) for p in inclusion_plan(777_777, size)) <= 2 * size.bit_length()
        assert sum(len(p) for p in consistency_plan(654_321, size)) <= 2 * size.bit_length()
