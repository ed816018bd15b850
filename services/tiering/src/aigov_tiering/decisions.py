"""Decision events as tiering publishes them: deterministic ids, source and actor.

Event ids are UUIDv5 of what the decision is about, so a decision republished after a
crash (the consumer redelivers the triggering event) carries the same id and downstream
consumers, which de-duplicate on event id, apply it once.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Final, TypeVar

from aigov_events.catalog import EventPayload
from aigov_events.catalog.decisions import MaterialChangeDetected, TierAssigned
from aigov_events.message import DomainEvent, new_event

P = TypeVar("P", bound=EventPayload)

SOURCE: Final = "/aigov/tiering"
ACTOR: Final = "aigov-tiering"
_NAMESPACE: Final = uuid.UUID("6f1c3f0e-4b53-5f7e-9a55-1f8f0c4d2a10")


def decision_event(payload: P, *, key: str) -> DomainEvent[P]:
    """Wrap a decision payload in an event whose id is derived from `key`."""
    event_id = str(uuid.uuid5(_NAMESPACE, f"{payload.event_type}\n{key}"))
    return new_event(payload, source=SOURCE, actor=ACTOR, event_id=event_id)


def tier_event(payload: TierAssigned) -> DomainEvent[TierAssigned]:
    """The `tier.assigned` event of one revision under one policy pack."""
    key = f"{payload.system_id}\n{payload.manifest_revision}\n{payload.policy.sha256}"
    return decision_event(payload, key=key)


def material_change_event(payload: MaterialChangeDetected) -> DomainEvent[MaterialChangeDetected]:
    """The `material_change.detected` event of one change id."""
    return decision_event(payload, key=payload.change_id)


def manifest_change_id(system_id: str, revision: int) -> str:
    """Change id of a material manifest revision (approvals with scope material_change name it)."""
    return f"mc-{system_id}-r{revision}"


def evaluation_change_id(system_id: str, version: str, suite: str) -> str:
    """Change id of an evaluation regression of one release's suite (bounded length)."""
    digest = hashlib.sha256(f"{version}\n{suite}".encode()).hexdigest()[:16]
    return f"mc-{system_id}-e{digest}"
