"""NIST OSCAL 1.1 exports of releases: assessment results (control status) and POA&M items (waivers).

Control status is `service.assess_release`'s, unchanged; waivers are the waivers projection
(`service.list_waivers`). The documents are built by `aigov_oscal`; see docs/oscal.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Final

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.catalog.primitives import SYSTEM_ID_PATTERN
from aigov_evidence import service
from aigov_evidence.api.convert import evidence
from aigov_evidence.api.deps import Now, Reader, Session, SystemQuery, VersionQuery
from aigov_evidence.models import LEDGER
from aigov_evidence.schemas import EvidenceOut
from aigov_oscal.assessment_results import AssessedRelease, build_assessment_results
from aigov_oscal.documents import MEDIA_TYPE, AssessmentResultsDocument, PoamDocument
from aigov_oscal.poam import build_poam
from aigov_runtime.errors import ProblemError, problem_responses
from aigov_runtime.tags import Tag

router = APIRouter(prefix="/oscal")

MAX_POAM_ITEMS: Final = service.MAX_PAGE
"""At most this many waivers (by expiry, then id) in one POA&M document."""


async def _records(
    session: AsyncSession, system_id: str, event_ids: Sequence[str]
) -> list[EvidenceOut]:
    """The system's ledger records with these event ids (every source), in ledger order."""
    if not event_ids:
        return []
    rows = await session.execute(
        select(LEDGER)
        .where(LEDGER.c.system_id == system_id, LEDGER.c.event_id.in_(sorted(set(event_ids))))
        .order_by(LEDGER.c.sequence)
    )
    return [evidence(row) for row in rows]


@router.get(
    "/assessment-results",
    tags=[Tag.RELEASES],
    summary="A release's control status as OSCAL assessment results",
    response_model=AssessmentResultsDocument,
    responses={200: {"content": {MEDIA_TYPE: {}}}, **problem_responses(401, 403, 404, 409, 422)},
    description="NIST OSCAL 1.1.3 assessment results (JSON, `application/json`) of one "
    "release: one result with a finding per control the system's latest tier decision "
    "requires (`target.status.state` `satisfied`, or `not-satisfied` for missing and waived "
    "controls; a waived one has the prop `control-state: waived` and links its POA&M item), "
    "and an observation per ledger record the control statuses name (event id, type, times, "
    "a link to `/v1/events/{id}`). The status is the gate's (`GET /v1/systems/{id}/controls`). "
    "`import-ap` points at the tier decision's ledger record: aigov has no OSCAL assessment "
    "plan. 404 for an unknown system or release, 409 while the system has no tier decision.",
)
async def get_assessment_results(
    system: SystemQuery, version: VersionQuery, _reader: Reader, session: Session, now: Now
) -> AssessmentResultsDocument:
    """The release's control status at `now`, as OSCAL assessment results."""
    assessment = await service.assess_release(session, system, version, now=now)
    row = await service.get_system(session, system) if assessment.known else None
    if row is None:
        raise ProblemError(404, f"no system {system!r} in the inventory")
    release = await service.get_release(session, system, version)
    if release is None:
        raise ProblemError(404, f"no event names release {version!r} of {system!r}")
    decision, status = assessment.decision, assessment.status
    if decision is None or status is None or assessment.tier_event_id is None:
        raise ProblemError(
            409,
            f"system {system!r} has no tier decision yet: there is nothing to assess release "
            f"{version!r} against (tiering decides once the system's manifest is registered)",
        )
    ids = [i for control in status.controls for i in control.evidence_ids]
    records = await _records(session, system, ids)
    moments: list[datetime] = [release.first_seen_at, release.last_event_at]
    moments += [r.recorded_at for r in records]
    moments += [c.detected_at for c in status.pending_changes]
    moments += [w.expires_at for w in assessment.waivers if w.expires_at <= now]
    if row.system.tier_assigned_at is not None:
        moments.append(row.system.tier_assigned_at)
    assessed = AssessedRelease(
        system_id=system,
        version=version,
        tier=decision.tier.value,
        policy=decision.policy,
        tier_event_id=assessment.tier_event_id,
        started=release.first_seen_at,
        last_modified=max(moments),
        pending_changes=tuple(c.change_id for c in status.pending_changes),
    )
    return AssessmentResultsDocument.model_validate(
        build_assessment_results(assessed, status.controls, records)
    )


@router.get(
    "/poam",
    tags=[Tag.WAIVERS],
    summary="Waivers as an OSCAL plan of action and milestones",
    response_model=PoamDocument,
    responses={200: {"content": {MEDIA_TYPE: {}}}, **problem_responses(401, 403, 404, 422)},
    description="NIST OSCAL 1.1.3 POA&M (JSON, `application/json`): one POA&M item and one "
    "risk per waiver, of one system (`system`) or of all, with status (`waiver-status` is "
    "`expired` once a granted waiver's expiry passed), justification, compensating controls "
    "(also the risk's mitigating factors), expiry (the risk's deadline), who requested and "
    f"who decided. At most {MAX_POAM_ITEMS} waivers, by expiry then id; with more, the "
    "metadata has the prop `truncated` and says so. 404 for an unknown system or when there "
    "is no waiver (an OSCAL POA&M holds at least one item).",
)
async def get_poam(
    _reader: Reader,
    session: Session,
    now: Now,
    system: Annotated[
        str | None,
        Query(
            pattern=SYSTEM_ID_PATTERN,
            description="Only this AI system's waivers (all systems' when absent).",
            examples=["support-summarizer"],
        ),
    ] = None,
) -> PoamDocument:
    """The waivers (of `system`, if given) as an OSCAL POA&M."""
    waivers, more = await service.list_waivers(
        session,
        system_id=system,
        status=None,
        expiring_within=None,
        now=now,
        limit=MAX_POAM_ITEMS,
        after=None,
    )
    if not waivers:
        if system is not None and await service.get_system(session, system) is None:
            raise ProblemError(404, f"no system {system!r} in the inventory")
        of = f" of {system!r}" if system is not None else ""
        raise ProblemError(404, f"no waivers{of} to export: an OSCAL POA&M holds at least one item")
    document = build_poam(
        waivers,
        now=now,
        system_id=system,
        truncated_at=MAX_POAM_ITEMS if more is not None else None,
    )
    return PoamDocument.model_validate(document)
