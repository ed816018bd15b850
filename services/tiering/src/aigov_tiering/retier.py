"""Re-tiering: when the policy pack changed, re-evaluate every known system, publish only what changed.

Runs at startup, before the consumer joins its group. Each system moves to the new pack
in its own transaction with a compare-and-set on the pack hash, so replicas starting
together re-tier each system once.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.catalog.decisions import TierAssigned
from aigov_events.catalog.enums import Tier
from aigov_events.catalog.manifest import AISystemManifest
from aigov_tiering import service
from aigov_tiering.decisions import tier_event
from aigov_tiering.engine import decide
from aigov_tiering.handlers import Tiering
from aigov_tiering.policy.errors import RuleEvaluationError

log = logging.getLogger(__name__)

#: Payload fields that say which pack decided, not what it decided.
_PROVENANCE = {"policy", "previous_tier"}


async def retier_known_systems(
    sessionmaker: async_sessionmaker[AsyncSession], tiering: Tiering
) -> list[str]:
    """Re-evaluate systems decided under another pack; returns the ids whose decision changed."""
    sha256 = tiering.pack.ref.sha256
    async with sessionmaker() as session:
        candidates = await service.systems_to_retier(session, policy_sha256=sha256)
    changed: list[str] = []
    for system_id in candidates:
        async with sessionmaker() as session, session.begin():
            if await _retier(session, system_id, tiering):
                changed.append(system_id)
    log.info(
        "re-tiering done",
        extra={
            "policy": tiering.pack.version_label,
            "checked": len(candidates),
            "changed": len(changed),
        },
    )
    return changed


async def _retier(session: AsyncSession, system_id: str, tiering: Tiering) -> bool:
    system = await service.get_system(session, system_id)
    if system is None or system.policy_sha256 == tiering.pack.ref.sha256:
        return False
    try:
        decision = decide(AISystemManifest.model_validate(system.manifest), tiering.pack)
    except RuleEvaluationError as exc:
        # One bad system must not keep the service from starting; it stays on its old decision.
        log.error("re-tiering failed", extra={"system_id": system_id, "error": str(exc)})
        return False
    old = TierAssigned.model_validate(system.decision)
    new = decision.tier_assigned(
        system_id=system_id,
        revision=system.revision,
        manifest_sha256=system.manifest_sha256,
        previous_tier=Tier(system.tier),
    )
    unchanged = old.model_dump(exclude=_PROVENANCE) == new.model_dump(exclude=_PROVENANCE)
    claimed = await service.claim_retier(
        session,
        system_id=system_id,
        from_policy_sha256=system.policy_sha256,
        to_policy_sha256=tiering.pack.ref.sha256,
        decision=None if unchanged else new.model_dump(mode="json", exclude_none=True),
        tier=None if unchanged else new.tier.value,
    )
    if not claimed or unchanged:
        return False
    event = tier_event(new)
    await service.record_decisions(session, [event], policy_sha256=tiering.pack.ref.sha256)
    await tiering.publisher.publish(event)
    return True
