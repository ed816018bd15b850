"""Releases, waivers and signed checkpoints."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Query

from aigov_events.catalog import DeploymentCompleted, DeploymentRequested, DeploymentRolledBack
from aigov_evidence import service
from aigov_evidence.api.convert import evidence, pending_requests, waiver
from aigov_evidence.api.deps import (
    Cursor,
    Limit,
    Now,
    Reader,
    Session,
    SystemPath,
    VersionPath,
    cursor_key,
)
from aigov_evidence.checkpoints import latest_checkpoint
from aigov_evidence.schemas import CheckpointOut, ReleaseOut, WaiverPage
from aigov_runtime.errors import ProblemError, problem_responses
from aigov_runtime.tags import Tag

router = APIRouter()

_DEPLOYMENT_TYPES: Final = frozenset(
    m.event_type for m in (DeploymentRequested, DeploymentCompleted, DeploymentRolledBack)
)
_RELEASE_RECORDS: Final = 500


@router.get(
    "/releases/{system_id}/{version}",
    tags=[Tag.RELEASES],
    summary="A release: submitters, deployments, evidence and pending waiver requests",
    response_model=ReleaseOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_release(
    system_id: SystemPath, version: VersionPath, _reader: Reader, session: Session, now: Now
) -> ReleaseOut:
    """The release's submitters, deployment history, evidence and undecided waiver requests."""
    release = await service.get_release(session, system_id, version)
    if release is None:
        raise ProblemError(404, f"no event names release {version!r} of {system_id!r}")
    rows, _ = await service.list_evidence(
        session,
        system_id,
        types=[],
        version=version,
        since=None,
        until=None,
        limit=_RELEASE_RECORDS,
        after=None,
    )
    records = [evidence(row) for row in rows]
    return ReleaseOut(
        system=system_id,
        version=version,
        submitter=release.submitter,
        submitters=await service.release_submitters(session, system_id, version),
        submitted_event_id=release.submitted_event_id,
        first_seen_at=release.first_seen_at,
        last_event_at=release.last_event_at,
        deployment_status=release.deployment_status,
        deployments=[r for r in records if r.type in _DEPLOYMENT_TYPES],
        evidence=[r for r in records if r.type not in _DEPLOYMENT_TYPES],
        pending_waivers=pending_requests(
            await service.release_pending_waivers(session, system_id, version, now=now)
        ),
    )


@router.get(
    "/waivers",
    tags=[Tag.WAIVERS],
    summary="List waivers",
    response_model=WaiverPage,
    responses=problem_responses(401, 403, 422),
)
async def list_waivers(
    _reader: Reader,
    session: Session,
    now: Now,
    system: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] = None,
    status: Annotated[
        Literal["requested", "granted", "rejected", "expired"] | None, Query()
    ] = None,
    expiring_within_days: Annotated[
        int | None,
        Query(ge=0, le=3650, description="Only granted waivers expiring within N days."),
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> WaiverPage:
    """Waivers ordered by expiry, filtered by system, status, or expiring within N days."""
    after = cursor_key("waivers", cursor)
    items, last = await service.list_waivers(
        session,
        system_id=system,
        status=status,
        expiring_within=timedelta(days=expiring_within_days)
        if expiring_within_days is not None
        else None,
        now=now,
        limit=limit,
        after=(str(after[0]), str(after[1])) if after and len(after) == 2 else None,
    )
    return WaiverPage(
        items=[waiver(w, now=now) for w in items],
        next=service.encode_cursor("waivers", list(last)) if last is not None else None,
    )


@router.get(
    "/checkpoints/latest",
    tags=[Tag.EVIDENCE],
    summary="The latest signed checkpoint of every chain head",
    response_model=CheckpointOut,
    responses=problem_responses(401, 403, 404),
)
async def get_latest_checkpoint(_reader: Reader, session: Session) -> CheckpointOut:
    """Every system's chain head, signed with the service's Ed25519 key."""
    checkpoint = await latest_checkpoint(session)
    if checkpoint is None or checkpoint.id is None:
        raise ProblemError(404, "no checkpoint has been taken yet")
    return CheckpointOut(
        id=checkpoint.id,
        created_at=checkpoint.created_at,
        body=checkpoint.body,
        body_sha256=checkpoint.body_sha256,
        signature=checkpoint.signature,
        public_key=checkpoint.public_key,
        key_id=checkpoint.key_id,
    )
