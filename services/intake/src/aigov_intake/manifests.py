"""Manifest revisions are intake's to number, whichever endpoint a manifest comes through.

`plan_revision` is the one computation: no record means `system.registered` revision 1; a
different manifest hash means `system.updated` with the next revision and the previous
hash; the same hash changes nothing. `POST /v1/systems` uses it directly. For manifests that
arrive as `system.registered` / `system.updated` events (`/v1/events`), `revise` applies it
under the systems' revision locks and overwrites what the client said: the event keeps its
id, source, time and actor, but its type, `revision`, `manifest_sha256` and
`previous_manifest_sha256` are intake's. A client cannot pin the inventory with revision
2^31 or attach a hash that is not the manifest's. A manifest identical to the current
revision publishes nothing (reported as a duplicate); a retired system's id is not reused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.catalog import AISystemManifest, SystemRegistered, SystemUpdated
from aigov_events.message import DomainEvent
from aigov_intake.models import SystemRecord

ManifestRevision = SystemRegistered | SystemUpdated


class RecordedRevision(Protocol):
    """What `plan_revision` needs of intake's record of a system (a `SystemRecord`)."""

    @property
    def revision(self) -> int:
        """The latest revision intake accepted."""
        ...

    @property
    def manifest_sha256(self) -> str:
        """That revision's manifest hash."""
        ...

    @property
    def retired(self) -> bool:
        """Whether the system was retired."""
        ...


@dataclass(frozen=True)
class _Planned:
    """A revision planned earlier in the same request."""

    revision: int
    manifest_sha256: str
    retired: bool = False


class RetiredSystem(Exception):
    """A manifest for a retired system's id (409): the id is not reused."""


def plan_revision(
    manifest: AISystemManifest, digest: str, current: RecordedRevision | None
) -> ManifestRevision | None:
    """The event a submitted manifest makes, given intake's record of the system (None: same)."""
    system_id = manifest.metadata.id
    if current is None or current.revision < 1:
        return SystemRegistered(
            system_id=system_id, revision=1, manifest_sha256=digest, manifest=manifest
        )
    if current.manifest_sha256 == digest:
        return None
    return SystemUpdated(
        system_id=system_id,
        revision=current.revision + 1,
        manifest_sha256=digest,
        previous_manifest_sha256=current.manifest_sha256,
        manifest=manifest,
    )


def manifest_system_ids(events: Sequence[DomainEvent[Any]]) -> list[str]:
    """The AI systems whose manifests `events` revise, sorted (the order locks are taken in)."""
    return sorted({e.payload.system_id for e in events if isinstance(e.payload, ManifestRevision)})


@dataclass(frozen=True)
class Revised:
    """The events as intake numbered them, and the (source, id) of manifests that changed nothing."""

    events: list[DomainEvent[Any]]
    unchanged: list[tuple[str, str]] = field(default_factory=list)


def retired_detail(system_id: str) -> str:
    """Why a manifest for a retired system is refused."""
    return f"AI system {system_id!r} was retired; register it under a new id"


async def revise(
    events: Sequence[DomainEvent[Any]], *, sessionmaker: async_sessionmaker[AsyncSession]
) -> Revised:
    """`events` with every manifest revision renumbered and rehashed by intake.

    Call it holding the revision locks of `manifest_system_ids(events)`, and publish and
    record the result before releasing them.
    """
    records: dict[str, RecordedRevision | None] = {}
    out: list[DomainEvent[Any]] = []
    unchanged: list[tuple[str, str]] = []
    async with sessionmaker() as session:
        for event in events:
            payload = event.payload
            if not isinstance(payload, ManifestRevision):
                out.append(event)
                continue
            system_id = payload.system_id
            if system_id not in records:
                records[system_id] = await session.get(SystemRecord, system_id)
            current = records[system_id]
            if current is not None and current.retired:
                raise RetiredSystem(retired_detail(system_id))
            digest = payload.manifest.content_sha256()
            planned = plan_revision(payload.manifest, digest, current)
            if planned is None:
                unchanged.append((event.envelope.source, event.id))
                continue
            out.append(_with_payload(event, planned))
            # A later manifest of the same system in this request revises this one.
            records[system_id] = _Planned(planned.revision, planned.manifest_sha256)
    return Revised(events=out, unchanged=unchanged)


def _with_payload(event: DomainEvent[Any], payload: ManifestRevision) -> DomainEvent[Any]:
    envelope = event.envelope.model_copy(
        update={
            "type": payload.event_type,
            "data": payload.model_dump(mode="json", by_alias=True, exclude_none=True),
        }
    )
    return DomainEvent(envelope=envelope, payload=payload)
