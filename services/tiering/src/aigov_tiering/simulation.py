"""Dry runs: the decision a manifest would get now, and whether it is a material change."""

from __future__ import annotations

from aigov_events.catalog.manifest import AISystemManifest
from aigov_tiering.engine import decide
from aigov_tiering.material import compare_manifests
from aigov_tiering.policy import PolicyPack
from aigov_tiering.schemas import MaterialChangeResult, SimulationResult


def simulate(
    manifest: AISystemManifest, pack: PolicyPack, *, previous: AISystemManifest | None = None
) -> SimulationResult:
    """Decide `manifest` under `pack`; with `previous`, also compare the two for material change."""
    decision = decide(manifest, pack)
    material_change = None
    previous_tier = None
    if previous is not None:
        previous_tier = decide(previous, pack).tier
        comparison = compare_manifests(previous.to_document(), manifest.to_document(), pack)
        material_change = MaterialChangeResult(
            material=comparison.is_material,
            changes=list(comparison.material),
            non_material_fields=list(comparison.non_material_fields),
        )
    return SimulationResult(
        tier=decision.tier,
        reasons=list(decision.rules),
        policy_version=pack.version_label,
        policy=decision.policy,
        previous_tier=previous_tier,
        required_controls=list(decision.required_controls),
        evaluation_minimums=list(decision.evaluation_minimums),
        required_approvals=list(decision.required_approvals),
        monitoring=list(decision.monitoring),
        incident_slas=list(decision.incident_slas),
        warnings=list(decision.warnings),
        material_change=material_change,
    )
