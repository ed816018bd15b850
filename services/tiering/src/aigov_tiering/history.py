"""A system's decision and change history, as reviewers read it (no FastAPI)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.catalog.decisions import FieldChange, TierAssigned
from aigov_events.catalog.enums import Tier
from aigov_tiering import service
from aigov_tiering.schemas import BaselineView, ManifestChangeView, SystemView


async def system_view(session: AsyncSession, system_id: str) -> SystemView | None:
    """What tiering knows about `system_id`, or None if it never saw it."""
    system = await service.get_system(session, system_id)
    if system is None:
        return None
    baseline = await service.get_baseline(session, system_id)
    changes = await service.manifest_changes(session, system_id)
    return SystemView(
        system_id=system.system_id,
        revision=system.revision,
        tier=Tier(system.tier),
        decision=TierAssigned.model_validate(system.decision),
        evaluated_with=system.policy_sha256,
        retired=system.retired,
        baseline=None
        if baseline is None
        else BaselineView(
            revision=baseline.revision,
            version=baseline.version,
            pending_change_id=baseline.pending_change_id,
        ),
        changes=[
            ManifestChangeView(
                revision=change.revision,
                baseline_revision=change.baseline_revision,
                material=change.material,
                changes=[FieldChange.model_validate(c) for c in change.changes],
                non_material_fields=list(change.non_material_fields),
                change_id=change.change_id,
            )
            for change in changes
        ],
    )
