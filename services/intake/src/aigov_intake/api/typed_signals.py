"""Operational signals: `POST /v1/alerts`, and incidents with their lifecycle.

Incidents move reported → acknowledged → contained → resolved. Steps may be skipped
(an incident can be contained or resolved before anyone acknowledged it) but never taken
back: a step out of order is 409, since SLA timers and escalation already acted on the
later state. Intake issues incident ids and records each step (`service`), so the
lifecycle endpoints name only the incident. Incidents the monitoring router opens from
alerts are recorded by intake's consumer (`consumers`), so these steps work for them too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Final

from fastapi import APIRouter, Request, status

from aigov_events.catalog import (
    AlertRaised,
    IncidentAcknowledged,
    IncidentContained,
    IncidentReported,
    IncidentResolved,
)
from aigov_intake import service
from aigov_intake.api.deps import Caller, accept_problems, sessionmaker
from aigov_intake.api.incidents import not_known
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
from aigov_intake.api.typed_examples import ALERT, INCIDENT
from aigov_intake.api.typed_openapi import json_body
from aigov_intake.schemas import (
    AlertAccepted,
    AlertRequest,
    IncidentAccepted,
    IncidentAcknowledgeRequest,
    IncidentContainRequest,
    IncidentRequest,
    IncidentResolveRequest,
)
from aigov_runtime.auth import Principal
from aigov_runtime.tags import Tag

router = APIRouter()

ALERTS: Final = source("alerts")
INCIDENTS: Final = source("incidents")
ACKNOWLEDGEMENTS: Final = source("incidents/acknowledge")
CONTAINMENTS: Final = source("incidents/contain")
RESOLUTIONS: Final = source("incidents/resolve")
ALERT_ID_PREFIX: Final = "A"
INCIDENT_ID_PREFIX: Final = "INC"

_STEP_ERRORS: Final = accept_problems(
    400,
    401,
    403,
    404,
    413,
    415,
    422,
    429,
    503,
    conflict="the incident is not in a status this step follows",
)


def alert_fingerprint(system_id: str, signal: str, labels: Mapping[str, str]) -> str:
    """Identity of an alert series: same system, signal and labels ⇒ same fingerprint.

    Severity is left out on purpose, so an alert escalating from warning to critical stays
    one series for the router's dedup and grouping.
    """
    canonical = json.dumps(
        {"system": system_id, "signal": signal, "labels": dict(labels)},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


@router.post(
    "/alerts",
    tags=[Tag.INCIDENTS],
    status_code=status.HTTP_202_ACCEPTED,
    summary="Raise a monitoring alert for an AI system",
    response_model=AlertAccepted,
    openapi_extra=json_body(
        AlertRequest,
        {"drift": ALERT},
        description=(
            "A firing alert. `alert_id`, `fingerprint` and `starts_at` are optional: intake "
            "issues an id, hashes system + signal + labels, and uses the time it received it."
        ),
    ),
    responses=accept_problems(400, 401, 403, 413, 415, 422, 429, 503),
)
async def raise_alert(
    request: Request, principal: Caller, now: Now, idempotency_key: IdempotencyKey = None
) -> AlertAccepted:
    """Publish `alert.raised` on `aigov.signals`."""
    authorize(principal, AlertRaised)
    body = await read_model(request, AlertRequest)
    alert_id = body.alert_id or issue_id(
        ALERT_ID_PREFIX,
        endpoint_source=ALERTS,
        idempotency_key=principal_key(principal, idempotency_key),
    )
    fingerprint = body.fingerprint or alert_fingerprint(body.system, body.signal, body.labels)
    published = await publish_mapped(
        request,
        partial(body.to_payload, alert_id=alert_id, fingerprint=fingerprint, now=now),
        principal=principal,
        endpoint_source=ALERTS,
        idempotency_key=idempotency_key,
        now=now,
    )
    return AlertAccepted(**published.fields(), alert_id=alert_id, fingerprint=fingerprint)


@router.post(
    "/incidents",
    tags=[Tag.INCIDENTS],
    status_code=status.HTTP_202_ACCEPTED,
    summary="Report an incident involving an AI system",
    response_model=IncidentAccepted,
    openapi_extra=json_body(
        IncidentRequest,
        {"privacy": INCIDENT},
        description="What happened, how severe, and whether it is an EU AI Act serious incident.",
    ),
    responses=accept_problems(400, 401, 403, 413, 415, 422, 429, 503),
)
async def report_incident(
    request: Request, principal: Caller, now: Now, idempotency_key: IdempotencyKey = None
) -> IncidentAccepted:
    """Publish `incident.reported` under a new `incident_id` (stable across key retries)."""
    authorize(principal, IncidentReported)
    body = await read_model(request, IncidentRequest)
    incident_id = issue_id(
        INCIDENT_ID_PREFIX,
        endpoint_source=INCIDENTS,
        idempotency_key=principal_key(principal, idempotency_key),
    )
    published = await publish_mapped(
        request,
        partial(body.to_payload, incident_id=incident_id),
        principal=principal,
        endpoint_source=INCIDENTS,
        idempotency_key=idempotency_key,
        now=now,
    )
    return IncidentAccepted(**published.fields(), incident_id=incident_id, status="reported")


async def _step(
    request: Request,
    incident_id: str,
    body: IncidentAcknowledgeRequest | IncidentContainRequest | IncidentResolveRequest,
    *,
    allowed_from: set[str],
    target: str,
    endpoint_source: str,
    principal: Principal,
    now: datetime,
    idempotency_key: str | None,
) -> IncidentAccepted:
    incident = None
    if known_id(incident_id):
        incident = await service.find_incident(sessionmaker(request), incident_id)
    if incident is None:
        raise not_known(incident_id)
    ensure_status(
        incident.status,
        allowed_from,
        target=target,
        what=f"incident {incident_id}",
        retry=idempotency_key is not None,
    )
    published = await publish_mapped(
        request,
        partial(body.to_payload, system_id=incident.system_id, incident_id=incident_id),
        principal=principal,
        endpoint_source=endpoint_source,
        idempotency_key=idempotency_key,
        now=now,
    )
    return IncidentAccepted(**published.fields(), incident_id=incident_id, status=target)


@router.post(
    "/incidents/{incident_id}/acknowledge",
    tags=[Tag.INCIDENTS],
    status_code=status.HTTP_202_ACCEPTED,
    summary="Acknowledge an incident (stops its acknowledge SLA)",
    response_model=IncidentAccepted,
    openapi_extra=json_body(
        IncidentAcknowledgeRequest,
        {"note": {"note": "Investigating retrieval scoping."}},
        description="An optional note; the body may be empty.",
        required=False,
    ),
    responses=_STEP_ERRORS,
)
async def acknowledge_incident(
    request: Request,
    incident_id: str,
    principal: Caller,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> IncidentAccepted:
    """Publish `incident.acknowledged`; 404 if unknown, 409 unless it is still `reported`."""
    authorize(principal, IncidentAcknowledged)
    body = await read_model(request, IncidentAcknowledgeRequest, allow_empty=True)
    return await _step(
        request,
        incident_id,
        body,
        allowed_from={"reported"},
        target="acknowledged",
        endpoint_source=ACKNOWLEDGEMENTS,
        principal=principal,
        now=now,
        idempotency_key=idempotency_key,
    )


@router.post(
    "/incidents/{incident_id}/contain",
    tags=[Tag.INCIDENTS],
    status_code=status.HTTP_202_ACCEPTED,
    summary="Record that an incident's harm was contained",
    response_model=IncidentAccepted,
    openapi_extra=json_body(
        IncidentContainRequest,
        {
            "note": {
                "note": "Cross-case retrieval disabled; summaries limited to the open case's "
                "documents."
            }
        },
        description="What was done to stop the harm spreading.",
    ),
    responses=_STEP_ERRORS,
)
async def contain_incident(
    request: Request,
    incident_id: str,
    principal: Caller,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> IncidentAccepted:
    """Publish `incident.contained`; 404 if unknown, 409 once contained or resolved."""
    authorize(principal, IncidentContained)
    body = await read_model(request, IncidentContainRequest)
    return await _step(
        request,
        incident_id,
        body,
        allowed_from={"reported", "acknowledged"},
        target="contained",
        endpoint_source=CONTAINMENTS,
        principal=principal,
        now=now,
        idempotency_key=idempotency_key,
    )


@router.post(
    "/incidents/{incident_id}/resolve",
    tags=[Tag.INCIDENTS],
    status_code=status.HTTP_202_ACCEPTED,
    summary="Resolve an incident (stops its SLA timers and escalation)",
    response_model=IncidentAccepted,
    openapi_extra=json_body(
        IncidentResolveRequest,
        {
            "fixed": {
                "resolution": "Retrieval filter now scopes documents by case id; regression "
                "test added.",
                "root_cause": "Corpus query was missing the tenant filter for attachments.",
            }
        },
        description="How it was resolved and, when known, the root cause.",
    ),
    responses=_STEP_ERRORS,
)
async def resolve_incident(
    request: Request,
    incident_id: str,
    principal: Caller,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> IncidentAccepted:
    """Publish `incident.resolved`; 404 if unknown, 409 once resolved."""
    authorize(principal, IncidentResolved)
    body = await read_model(request, IncidentResolveRequest)
    return await _step(
        request,
        incident_id,
        body,
        allowed_from={"reported", "acknowledged", "contained"},
        target="resolved",
        endpoint_source=RESOLUTIONS,
        principal=principal,
        now=now,
        idempotency_key=idempotency_key,
    )
