"""Release evidence and decisions: `/v1/evaluations`, `/artifacts`, `/deployments`, `/approvals`."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request, status

from aigov_events.catalog import (
    ApprovalDenied,
    ApprovalGranted,
    ArtifactSubmitted,
    DeploymentCompleted,
    DeploymentRequested,
    DeploymentRolledBack,
    EvaluationCompleted,
)
from aigov_intake.api.deps import Caller, accept_problems
from aigov_intake.api.typed_common import (
    IdempotencyKey,
    Now,
    authorize,
    publish_mapped,
    read_model,
    source,
)
from aigov_intake.api.typed_examples import APPROVAL, ARTIFACT, DEPLOYMENT, EVALUATION
from aigov_intake.api.typed_openapi import json_body
from aigov_intake.schemas import (
    ApprovalRequest,
    ArtifactRequest,
    DeploymentRequest,
    EvaluationRequest,
    EventAccepted,
)
from aigov_runtime.tags import Tag

router = APIRouter(tags=[Tag.RELEASES])

EVALUATIONS: Final = source("evaluations")
ARTIFACTS: Final = source("artifacts")
DEPLOYMENTS: Final = source("deployments")
APPROVALS: Final = source("approvals")

_ERRORS: Final = accept_problems(400, 401, 403, 413, 415, 422, 429, 503)


@router.post(
    "/evaluations",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Record an evaluation run of a release",
    response_model=EventAccepted,
    openapi_extra=json_body(
        EvaluationRequest,
        {"release-evaluation": EVALUATION},
        description="Metrics of one evaluation suite run; `dataset` is the dataset evaluated on.",
    ),
    responses=_ERRORS,
)
async def record_evaluation(
    request: Request, principal: Caller, now: Now, idempotency_key: IdempotencyKey = None
) -> EventAccepted:
    """Publish `evaluation.completed`; the single `dataset` becomes the event's `datasets`."""
    authorize(principal, EvaluationCompleted)
    body = await read_model(request, EvaluationRequest)
    published = await publish_mapped(
        request,
        body.to_payload,
        principal=principal,
        endpoint_source=EVALUATIONS,
        idempotency_key=idempotency_key,
        now=now,
    )
    return EventAccepted(**published.fields())


@router.post(
    "/artifacts",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Attach a governance document to a release",
    response_model=EventAccepted,
    openapi_extra=json_body(
        ArtifactRequest,
        {"model-card": ARTIFACT},
        description="A model card, data sheet, risk assessment, ... pinned by its SHA-256.",
    ),
    responses=_ERRORS,
)
async def submit_artifact(
    request: Request, principal: Caller, now: Now, idempotency_key: IdempotencyKey = None
) -> EventAccepted:
    """Publish `artifact.submitted`."""
    authorize(principal, ArtifactSubmitted)
    body = await read_model(request, ArtifactRequest)
    published = await publish_mapped(
        request,
        body.to_payload,
        principal=principal,
        endpoint_source=ARTIFACTS,
        idempotency_key=idempotency_key,
        now=now,
    )
    return EventAccepted(**published.fields())


@router.post(
    "/deployments",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Report a deployment requested, completed or rolled back",
    response_model=EventAccepted,
    openapi_extra=json_body(
        DeploymentRequest,
        {
            "requested": DEPLOYMENT,
            "completed": {**DEPLOYMENT, "status": "completed", "outcome": "succeeded"},
            "rolled_back": {
                **DEPLOYMENT,
                "status": "rolled_back",
                "to_version": "2026.10.1",
                "reason": "Summaries truncated for cases over 40 pages after the release.",
            },
        },
        description=(
            "`status` selects the event: `requested`, `completed` (with `outcome`) or "
            "`rolled_back` (`version` is taken out of service, `to_version` serves again)."
        ),
    ),
    responses=_ERRORS,
)
async def report_deployment(
    request: Request, principal: Caller, now: Now, idempotency_key: IdempotencyKey = None
) -> EventAccepted:
    """Publish `deployment.requested`, `deployment.completed` or `deployment.rolled_back`."""
    authorize(principal, DeploymentRequested, DeploymentCompleted, DeploymentRolledBack)
    body = await read_model(request, DeploymentRequest)
    published = await publish_mapped(
        request,
        body.to_payload,
        principal=principal,
        endpoint_source=DEPLOYMENTS,
        idempotency_key=idempotency_key,
        now=now,
    )
    return EventAccepted(**published.fields())


@router.post(
    "/approvals",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Approve or deny a release (approver role)",
    response_model=EventAccepted,
    openapi_extra=json_body(
        ApprovalRequest,
        {"granted": APPROVAL},
        description=(
            "An approver's decision. The approver is the authenticated caller, who may not "
            "be the release's submitter (403)."
        ),
    ),
    responses=_ERRORS,
)
async def decide_approval(
    request: Request, principal: Caller, now: Now, idempotency_key: IdempotencyKey = None
) -> EventAccepted:
    """Publish `approval.granted` or `approval.denied`, as `decision` says."""
    authorize(principal, ApprovalGranted, ApprovalDenied)
    body = await read_model(request, ApprovalRequest)
    published = await publish_mapped(
        request,
        body.to_payload,
        principal=principal,
        endpoint_source=APPROVALS,
        idempotency_key=idempotency_key,
        now=now,
    )
    return EventAccepted(**published.fields())
