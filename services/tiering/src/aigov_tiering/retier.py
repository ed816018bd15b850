"""Re-tiering: when the policy pack changed, re-evaluate every known system, publish only what changed.

Runs at startup, before the consumer joins its group, in chunks of systems (by id): a
chunk is read in one query, decided in memory, moved to the new pack with one
compare-and-set on (system, revision, old pack), and its changed decisions written, recorded
and published in one producer batch, all in one transaction. Replicas starting together
re-tier each system once: only the one whose compare-and-set moved it publishes.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.catalog.decisions import TierAssigned
from aigov_events.catalog.enums import Tier
from aigov_events.catalog.manifest import AISystemManifest
from aigov_events.message import DomainEvent
from aigov_tiering import service
from aigov_tiering.decisions import tier_event
from aigov_tiering.engine import decide
from aigov_tiering.handlers import Tiering
from aigov_tiering.policy.errors import RuleEvaluationError
from aigov_tiering.service import SystemRecord

log = logging.getLogger(__name__)

#: Payload fields that say which pack decided, not what it decided.
_PROVENANCE: Final[set[str]] = {"policy", "previous_tier"}

#: Systems per transaction: one read, one compare-and-set, one producer batch.
CHUNK: Final = 500


async def retier_known_systems(
    sessionmaker: async_sessionmaker[AsyncSession], tiering: Tiering, *, chunk: int = CHUNK
) -> list[str]:
    """Re-evaluate systems decided under another pack; returns the ids whose decision changed."""
    sha256 = tiering.pack.ref.sha256
    changed: list[str] = []
    checked = 0
    after = ""  # keyset: systems the new pack cannot evaluate stay behind, never read twice
    while True:
        async with sessionmaker() as session, session.begin():
            systems = await service.systems_to_retier(
                session, policy_sha256=sha256, after=after, limit=chunk
            )
            if not systems:
                break
            after = systems[-1].system_id
            checked += len(systems)
            changed += await _retier_chunk(session, systems, tiering)
    log.info(
        "re-tiering done",
        extra={"policy": tiering.pack.version_label, "checked": checked, "changed": len(changed)},
    )
    return changed


async def _retier_chunk(
    session: AsyncSession, systems: Sequence[SystemRecord], tiering: Tiering
) -> list[str]:
    """Move one chunk to the new pack; the ids whose decision changed (and were published)."""
    new_decisions: dict[str, tuple[TierAssigned, dict[str, Any]]] = {}
    decided: dict[str, list[SystemRecord]] = defaultdict(list)
    for system in systems:
        try:
            decision = decide(AISystemManifest.model_validate(system.manifest), tiering.pack)
        except RuleEvaluationError as exc:
            # One bad system must not keep the service from starting; it stays on its old decision.
            log.error("re-tiering failed", extra={"system_id": system.system_id, "error": str(exc)})
            continue
        new = decision.tier_assigned(
            system_id=system.system_id,
            revision=system.revision,
            manifest_sha256=system.manifest_sha256,
            previous_tier=Tier(system.tier),
        )
        decided[system.policy_sha256].append(system)
        fresh = new.model_dump(mode="json", exclude_none=True)
        if not _unchanged(system.decision, new, fresh):
            new_decisions[system.system_id] = (new, fresh)
    claimed: set[str] = set()
    for from_sha256, group in decided.items():
        claimed |= await service.claim_retier(
            session, group, from_policy_sha256=from_sha256, to_policy_sha256=tiering.pack.ref.sha256
        )
    published = [s for s in new_decisions if s in claimed]
    await service.save_decisions(
        session,
        {s: (new_decisions[s][0].tier.value, new_decisions[s][1]) for s in published},
    )
    events: list[DomainEvent[Any]] = [tier_event(new_decisions[s][0]) for s in published]
    await service.record_decisions(session, events, policy_sha256=tiering.pack.ref.sha256)
    await tiering.publisher.publish_batch(events)
    return published


def _unchanged(stored: dict[str, Any], new: TierAssigned, fresh: dict[str, Any]) -> bool:
    """Whether the new pack decides what the stored decision says, provenance aside.

    `fresh` is `new` as stored (JSON, without None values).
    """
    if _without_provenance(stored) == _without_provenance(fresh):
        return True
    # The stored JSON may predate fields added to the payload since: compare as payloads.
    old = TierAssigned.model_validate(stored)
    return bool(old.model_dump(exclude=_PROVENANCE) == new.model_dump(exclude=_PROVENANCE))


def _without_provenance(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if key not in _PROVENANCE}
