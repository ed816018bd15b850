"""Policy packs: versioned directories of YAML (tier rules, controls, tiers, metrics, material changes)."""

from aigov_tiering.policy.errors import PolicyError, PolicyProblem
from aigov_tiering.policy.loader import load_pack
from aigov_tiering.policy.pack import PolicyPack

__all__ = ["PolicyError", "PolicyPack", "PolicyProblem", "load_pack"]
