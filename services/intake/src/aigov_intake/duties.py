"""Who may act for which AI system, and who may decide on which release (403 otherwise).

Checked in the accept pipeline, so they hold whichever endpoint an event comes through:

- scope: a principal whose token names `teams` or `systems` may send events only about AI
  systems of those teams or with those ids. This covers everything it does for a system
  (owner, approver and publisher actions alike): a scoped token stands for one team's
  work. A system's team is its manifest's `metadata.team`: for a manifest revision both
  the recorded team and the new one must be in scope (a system cannot be moved into or out
  of another team's hands), otherwise intake's record of the system. A system intake has no
  team for is in scope only when its id is listed. Unscoped principals are not limited.
- capacity: an approval's `role` must be one of the principal's configured capacities
  (`Principal.approval_capacities()`), never whatever the request says;
- one person, one capacity: a principal who approved a release (or one material change)
  in one capacity may not approve it in another, so distinct requirements need distinct
  people;
- submitters: every principal that sent evidence (any non-decision event) for a release
  may not approve it or decide its waivers; nor may a waiver's requester decide it;
- revocation: an `approval.revoked` names the CloudEvents id of an `approval.granted`
  intake accepted for the same AI system (422 otherwise), and only the principal who
  granted it, or an admin, may revoke it. Evidence voids every grant of the release with
  that id, so when grants from several sources share the id, all must be the revoker's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.catalog import (
    ApprovalDenied,
    ApprovalGranted,
    ApprovalRevoked,
    EventPayload,
    ReleasePayload,
    SystemRegistered,
    SystemUpdated,
    WaiverGranted,
    WaiverRejected,
)
from aigov_events.message import DomainEvent
from aigov_intake.models import (
    AcceptedEvent,
    ReleaseApproval,
    ReleaseSubmitter,
    SystemRecord,
    WaiverRecord,
)
from aigov_runtime.auth import Principal, Role
from aigov_runtime.database import table_of

ReleaseKey = tuple[str, str]


class Forbidden(Exception):
    """The principal may not do this for this AI system, release or waiver (403)."""


class UnknownApproval(Exception):
    """An `approval.revoked` names no approval intake accepted for that AI system (422)."""


def approval_subject(payload: ApprovalGranted | ApprovalDenied) -> str:
    """What an approval is about within its release: '' (the release) or a material change id."""
    return payload.material_change_id or ""


def submits(payload: EventPayload) -> TypeGuard[ReleasePayload]:
    """True when sending `payload` makes its actor a submitter of the payload's release."""
    return isinstance(payload, ReleasePayload) and not payload.decides


@dataclass
class _Known:
    """What intake recorded that the checks of one request need (plus the request's own events)."""

    teams: dict[str, str | None] = field(default_factory=dict)
    submitters: dict[ReleaseKey, set[str]] = field(default_factory=dict)
    capacities: dict[tuple[str, str, str], str] = field(default_factory=dict)
    waivers: dict[str, WaiverRecord] = field(default_factory=dict)
    grants: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    """(system id, approval.granted event id) -> the principals who sent a grant with that id."""


async def check_duties(
    session: AsyncSession, events: Sequence[DomainEvent[Any]], principal: Principal
) -> None:
    """Raise Forbidden unless `principal` may send every one of `events` (in order)."""
    payloads: list[EventPayload] = [e.payload for e in events]
    if not principal.scoped and not any(type(p).decides for p in payloads):
        return
    known = await _load(session, payloads, principal)
    for event in events:
        payload: EventPayload = event.payload
        if principal.scoped:
            _check_scope(principal, event, known)
        if isinstance(payload, ApprovalGranted | ApprovalDenied):
            _check_capacity(principal, payload)
        if isinstance(payload, WaiverGranted | WaiverRejected):
            waiver = known.waivers.get(payload.waiver_id)
            if waiver is not None and waiver.requested_by == principal.name:
                raise Forbidden(
                    f"{principal.name!r} requested waiver {payload.waiver_id} and may not decide it"
                )
        if isinstance(payload, ApprovalGranted | WaiverGranted | WaiverRejected):
            _check_not_a_submitter(principal, payload, known)
        if isinstance(payload, ApprovalGranted):
            _check_one_capacity(principal, payload, known)
        if isinstance(payload, ApprovalRevoked):
            _check_revocation(principal, payload, known)
        _remember(principal, event, known)


async def _load(
    session: AsyncSession, payloads: Sequence[EventPayload], principal: Principal
) -> _Known:
    known = _Known()
    if principal.scoped:
        system_ids = {p.system_id for p in payloads}
        system = table_of(SystemRecord)
        teams = await session.execute(
            select(system.c.system_id, system.c.team).where(system.c.system_id.in_(system_ids))
        )
        known.teams = {row[0]: row[1] for row in teams}
    releases = {
        (p.system_id, p.version)
        for p in payloads
        if isinstance(p, ApprovalGranted | WaiverGranted | WaiverRejected)
    }
    if releases:
        submitter = table_of(ReleaseSubmitter)
        submitted = await session.execute(
            select(submitter.c.system_id, submitter.c.version, submitter.c.principal).where(
                tuple_(submitter.c.system_id, submitter.c.version).in_(releases)
            )
        )
        for system_id, version, name in submitted:
            known.submitters.setdefault((system_id, version), set()).add(name)
        approval = table_of(ReleaseApproval)
        approved = await session.execute(
            select(
                approval.c.system_id, approval.c.version, approval.c.subject, approval.c.capacity
            ).where(
                tuple_(approval.c.system_id, approval.c.version).in_(releases),
                approval.c.principal == principal.name,
            )
        )
        known.capacities = {(s, v, subject): capacity for s, v, subject, capacity in approved}
    revoked = {(p.system_id, p.revokes) for p in payloads if isinstance(p, ApprovalRevoked)}
    if revoked:
        accepted = table_of(AcceptedEvent)
        granted = await session.execute(
            # By system first: (source, event_id) is the key, system_id the indexed column.
            select(accepted.c.system_id, accepted.c.event_id, accepted.c.principal).where(
                accepted.c.system_id.in_({system_id for system_id, _ in revoked}),
                accepted.c.event_id.in_({event_id for _, event_id in revoked}),
                accepted.c.event_type == ApprovalGranted.event_type,
            )
        )
        for system_id, event_id, name in granted:
            known.grants.setdefault((system_id, event_id), set()).add(name)
    waiver_ids = {p.waiver_id for p in payloads if isinstance(p, WaiverGranted | WaiverRejected)}
    for waiver_id in waiver_ids:
        waiver = await session.get(WaiverRecord, waiver_id)
        if waiver is not None:
            known.waivers[waiver_id] = waiver
    return known


def _scope_text(principal: Principal) -> str:
    parts = []
    if principal.teams is not None:
        parts.append(f"teams: {', '.join(sorted(principal.teams)) or '(none)'}")
    if principal.systems is not None:
        parts.append(f"systems: {', '.join(sorted(principal.systems)) or '(none)'}")
    return "; ".join(parts)


def _check_scope(principal: Principal, event: DomainEvent[Any], known: _Known) -> None:
    payload: EventPayload = event.payload
    system_id = payload.system_id
    teams: list[str | None] = []
    if system_id in known.teams:
        teams.append(known.teams[system_id])
    if isinstance(payload, SystemRegistered | SystemUpdated):
        teams.append(payload.manifest.metadata.team)
    if not teams:
        teams.append(None)
    for team in teams:
        if not principal.may_act_for(system_id=system_id, team=team):
            owner = f"team {team!r}" if team is not None else "no team intake knows of"
            raise Forbidden(
                f"{principal.name!r} may act only for its scope ({_scope_text(principal)}); "
                f"{event.type} is about AI system {system_id!r} of {owner}"
            )


def _check_capacity(principal: Principal, payload: ApprovalGranted | ApprovalDenied) -> None:
    allowed = principal.approval_capacities()
    if payload.role not in allowed:
        raise Forbidden(
            f"principal {principal.name!r} may approve as: {', '.join(sorted(allowed))}; "
            f"not {payload.role}"
        )


def _check_not_a_submitter(
    principal: Principal,
    payload: ApprovalGranted | WaiverGranted | WaiverRejected,
    known: _Known,
) -> None:
    if principal.name not in known.submitters.get((payload.system_id, payload.version), set()):
        return
    action = "approve it" if isinstance(payload, ApprovalGranted) else "decide its waivers"
    raise Forbidden(
        f"{principal.name!r} submitted evidence for release {payload.system_id} "
        f"{payload.version} and may not {action}"
    )


def _check_one_capacity(principal: Principal, payload: ApprovalGranted, known: _Known) -> None:
    key = (payload.system_id, payload.version, approval_subject(payload))
    earlier = known.capacities.get(key)
    if earlier is not None and earlier != payload.role:
        what = f"material change {key[2]} of " if key[2] else ""
        raise Forbidden(
            f"{principal.name!r} already approved {what}release {payload.system_id} "
            f"{payload.version} as {earlier}; one person fills one capacity, so not also "
            f"as {payload.role}"
        )


def _check_revocation(principal: Principal, payload: ApprovalRevoked, known: _Known) -> None:
    granters = known.grants.get((payload.system_id, payload.revokes))
    if not granters:
        raise UnknownApproval(
            f"approval.revoked names {payload.revokes!r}, which is not the id of an "
            f"approval.granted intake accepted for AI system {payload.system_id!r}: "
            "`revokes` must be the CloudEvents id of the approval withdrawn"
        )
    others = granters - {principal.name}
    if others and Role.ADMIN not in principal.roles:
        by = ", ".join(repr(name) for name in sorted(granters))
        raise Forbidden(
            f"approval {payload.revokes!r} of AI system {payload.system_id!r} was granted by "
            f"{by}; only the principal who granted an approval, or an admin, may revoke it, "
            f"not {principal.name!r}"
        )


def _remember(principal: Principal, event: DomainEvent[Any], known: _Known) -> None:
    """Let later events of the same request see this one (a batch is checked as a sequence)."""
    payload: EventPayload = event.payload
    if isinstance(payload, SystemRegistered | SystemUpdated):
        known.teams[payload.system_id] = payload.manifest.metadata.team
    if submits(payload):
        known.submitters.setdefault((payload.system_id, payload.version), set()).add(principal.name)
    if isinstance(payload, ApprovalGranted):
        key = (payload.system_id, payload.version, approval_subject(payload))
        known.capacities.setdefault(key, payload.role)
        known.grants.setdefault((payload.system_id, event.id), set()).add(principal.name)
