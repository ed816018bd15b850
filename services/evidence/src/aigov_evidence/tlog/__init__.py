"""The ledger as a transparency log: a Merkle tree over the global append order (issue 16)."""
