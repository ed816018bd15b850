"""Revision lock keys: stable across processes (replicas must agree on them), one per system."""

from __future__ import annotations

from aigov_intake.revisions import advisory_key


def test_advisory_keys_are_stable_signed_64_bit_and_per_system() -> None:
    key = advisory_key("support-summarizer")
    # A fixed value: a key that changed between releases would let old and new replicas race.
    assert key == 141165730227811535
    assert -(2**63) <= key < 2**63
    assert key != advisory_key("support-summarizer-2")
