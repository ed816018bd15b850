"""Waivers: `POST /v1/waivers`, then `/v1/waivers/{waiver_id}/grant` or `/reject`.

Intake issues the waiver id and records the request (`service`), so a decision names only
the waiver: its system and release come from that record. A waiver is decided once: a
second decision is 409 (there is no event that reverses one; a new waiver is the way).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Final

from fastapi import APIRouter, Request, status

from aigov_events.catalog import WaiverGranted, WaiverRejected, WaiverRequested
from aigov_intake import service
from aigov_intake.api.deps import Caller, accept_problems, sessionmaker
from aigov_intake.api.typed_common import (
    IdempotencyKey,
    Now,
    authorize,
    ensure_status,
    issue_id,
    known_id,
    principal_key,
    publish_mapped,
    read_model,
    source,
)
from aigov_intake.api.typed_examples import WAIVER_REQUEST
from aigov_intake.api.typed_openapi import json_body
from aigov_intake.schemas import WaiverAccepted, WaiverDecisionRequest, WaiverRequest
from aigov_runtime.auth import Principal
from aigov_runtime.errors import ProblemError
from aigov_runtime.tags import Tag

router = APIRouter(tags=[Tag.WAIVERS])

WAIVERS: Final = source("waivers")
GRANTS: Final = source("waivers/grant")
REJECTIONS: Final = source("waivers/reject")
WAIVER_ID_PREFIX: Final = "W"

_DECISION_BODY: Final = json_body(
    WaiverDecisionRequest,
    {
        "rationale": {
            "rationale": "Compensating controls are adequate until the December model update."
        }
    },
    description="Why the approver decided so. The waiver's requester may not decide it (403).",
)
_DECISION_ERRORS: Final = accept_problems(
    400, 401, 403, 404, 413, 415, 422, 429, 503, conflict="the waiver was already decided"
)


@router.post(
    "/waivers",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Request a waiver for missing controls of a release",
    response_model=WaiverAccepted,
    openapi_extra=json_body(
        WaiverRequest,
        {"prompt-injection": WAIVER_REQUEST},
        description="The controls to waive, why, what compensates, and until when (future). "
        "The owner or publisher role may request; the requester may never decide it.",
    ),
    responses=accept_problems(400, 401, 403, 413, 415, 422, 429, 503),
)
async def request_waiver(
    request: Request, principal: Caller, now: Now, idempotency_key: IdempotencyKey = None
) -> WaiverAccepted:
    """Publish `waiver.requested` under a new `waiver_id` (stable across key retries)."""
    authorize(principal, WaiverRequested)
    body = await read_model(request, WaiverRequest)
    waiver_id = issue_id(
        WAIVER_ID_PREFIX,
        endpoint_source=WAIVERS,
        idempotency_key=principal_key(principal, idempotency_key),
    )
    published = await publish_mapped(
        request,
        partial(body.to_payload, waiver_id=waiver_id, now=now),
        principal=principal,
        endpoint_source=WAIVERS,
        idempotency_key=idempotency_key,
        now=now,
    )
    return WaiverAccepted(**published.fields(), waiver_id=waiver_id, status="requested")


async def _decide(
    request: Request,
    waiver_id: str,
    *,
    grant: bool,
    principal: Principal,
    now: datetime,
    idempotency_key: str | None,
) -> WaiverAccepted:
    authorize(principal, WaiverGranted if grant else WaiverRejected)
    body = await read_model(request, WaiverDecisionRequest)
    waiver = None
    if known_id(waiver_id):
        waiver = await service.find_waiver(sessionmaker(request), waiver_id)
    if waiver is None:
        raise ProblemError(404, f"no waiver {waiver_id!r} was requested through intake")
    target = "granted" if grant else "rejected"
    ensure_status(
        waiver.status,
        {"requested"},
        target=target,
        what=f"waiver {waiver_id}",
        retry=idempotency_key is not None,
    )
    published = await publish_mapped(
        request,
        partial(
            body.to_payload,
            grant=grant,
            system_id=waiver.system_id,
            version=waiver.version,
            waiver_id=waiver_id,
        ),
        principal=principal,
        endpoint_source=GRANTS if grant else REJECTIONS,
        idempotency_key=idempotency_key,
        now=now,
    )
    return WaiverAccepted(**published.fields(), waiver_id=waiver_id, status=target)


@router.post(
    "/waivers/{waiver_id}/grant",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Grant a requested waiver (approver role)",
    response_model=WaiverAccepted,
    openapi_extra=_DECISION_BODY,
    responses=_DECISION_ERRORS,
)
async def grant_waiver(
    request: Request,
    waiver_id: str,
    principal: Caller,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> WaiverAccepted:
    """Publish `waiver.granted`; 404 for an unknown waiver, 409 if it was already decided."""
    return await _decide(
        request,
        waiver_id,
        grant=True,
        principal=principal,
        now=now,
        idempotency_key=idempotency_key,
    )


@router.post(
    "/waivers/{waiver_id}/reject",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Reject a requested waiver (approver role)",
    response_model=WaiverAccepted,
    openapi_extra=_DECISION_BODY,
    responses=_DECISION_ERRORS,
)
async def reject_waiver(
    request: Request,
    waiver_id: str,
    principal: Caller,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> WaiverAccepted:
    """Publish `waiver.rejected`; 404 for an unknown waiver, 409 if it was already decided."""
    return await _decide(
        request,
        waiver_id,
        grant=False,
        principal=principal,
        now=now,
        idempotency_key=idempotency_key,
    )
