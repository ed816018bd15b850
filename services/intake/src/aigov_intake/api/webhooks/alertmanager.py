"""`POST /v1/webhooks/alertmanager`: Prometheus Alertmanager notifications -> alert events.

The mapping lives in `aigov_intake.adapters.alerting`; docs/integrations/alertmanager.md shows
how to point Alertmanager here.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Depends, Request, status

from aigov_intake.adapters import (
    PayloadRejected,
    WebhookReceipt,
    alerting,
    attribution_candidates,
    inline_schema,
    request_body,
)
from aigov_intake.adapters.alerting import AlertmanagerNotification
from aigov_intake.api.deps import Caller, accept, accept_problems
from aigov_intake.attribution import QUERY_PARAMETER, resolve_system
from aigov_intake.bodies import read_json
from aigov_runtime.auth import Role, require_roles
from aigov_runtime.errors import ProblemError

router = APIRouter()

VIA: Final = "webhook:alertmanager"

EXAMPLE: Final[dict[str, Any]] = {
    "version": "4",
    "groupKey": '{}/{ai_system="support-summarizer"}:{alertname="InputDrift"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "aigov-support-summarizer",
    "groupLabels": {"alertname": "InputDrift"},
    "commonLabels": {
        "alertname": "InputDrift",
        "ai_system": "support-summarizer",
        "signal": "drift",
        "severity": "warning",
    },
    "commonAnnotations": {},
    "externalURL": "https://alertmanager.example.com",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "InputDrift",
                "ai_system": "support-summarizer",
                "signal": "drift",
                "severity": "warning",
                "feature": "document_length",
            },
            "annotations": {
                "summary": "Input length distribution drifted (PSI 0.31 over 24 h)",
                "value": "0.31",
                "threshold": "0.2",
            },
            "startsAt": "2026-11-20T09:31:00.118455231Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://prometheus.example.com/graph?g0.expr=psi_document_length",
            "fingerprint": "3f2a9c1d7e6b5a40",
        }
    ],
}

OPENAPI_BODY: Final = request_body(
    "Alertmanager's webhook notification (version 4): one alert group, firing or resolved. "
    "Each alert becomes one io.aigov.alert.raised.v1 or io.aigov.alert.resolved.v1; the group "
    "is published as one atomic batch. The AI system is the `ai_system` label (on every alert, "
    "or in commonLabels), else the `?system=` query parameter.",
    {"application/json": (inline_schema(AlertmanagerNotification), EXAMPLE)},
)


def alert_group_system(request: Request, named: list[str | None]) -> str:
    """The one AI system of an alert group (labels, else `?system=`), or a 422 saying why not."""
    candidates = attribution_candidates(
        named, request.query_params.get(QUERY_PARAMETER), item="alert"
    )
    return resolve_system(request, candidates, looked_in=alerting.LOOKED_IN)


@router.post(
    "/alertmanager",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Receive an Alertmanager webhook notification",
    response_model=WebhookReceipt,
    dependencies=[Depends(require_roles(Role.PUBLISHER))],
    openapi_extra=OPENAPI_BODY,
    responses=accept_problems(400, 401, 403, 413, 415, 422, 429, 503),
)
async def receive_alertmanager(request: Request, principal: Caller) -> WebhookReceipt:
    """Publish one alert event per alert of the group, all or none (202 after the broker's ack)."""
    body = await read_json(request)
    try:
        notification = alerting.parse_alertmanager(body)
        system_id = alert_group_system(request, alerting.named_systems(notification))
        outcome = alerting.map_alertmanager(notification, system_id=system_id)
    except PayloadRejected as exc:
        raise ProblemError(422, exc.detail, errors=exc.errors) from None
    result = await accept(
        request, outcome.events(actor=principal.name), principal=principal, via=VIA
    )
    return outcome.receipt(result.answer())
