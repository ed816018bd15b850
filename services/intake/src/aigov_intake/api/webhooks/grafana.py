"""`POST /v1/webhooks/grafana`: Grafana unified-alerting notifications -> alert events.

Grafana's webhook contact point sends Alertmanager's format plus a few fields, so the
mapping is the Alertmanager one (`aigov_intake.adapters.alerting`); see
docs/integrations/grafana.md.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Depends, Request, status

from aigov_intake.adapters import (
    PayloadRejected,
    WebhookReceipt,
    alerting,
    ignored,
    inline_schema,
    request_body,
)
from aigov_intake.adapters.alerting import GrafanaNotification
from aigov_intake.api.deps import Caller, accept, accept_problems
from aigov_intake.api.webhooks.alertmanager import alert_group_system
from aigov_intake.bodies import read_json
from aigov_runtime.auth import Role, require_roles
from aigov_runtime.errors import ProblemError

router = APIRouter()

VIA: Final = "webhook:grafana"

EXAMPLE: Final[dict[str, Any]] = {
    "receiver": "aigov",
    "status": "resolved",
    "orgId": 1,
    "alerts": [
        {
            "status": "resolved",
            "labels": {
                "alertname": "ToxicityRate",
                "ai_system": "support-summarizer",
                "signal": "safety",
                "severity": "critical",
                "grafana_folder": "AI systems",
            },
            "annotations": {"summary": "Toxic replies above 1% of sampled outputs"},
            "startsAt": "2026-11-21T08:00:00+01:00",
            "endsAt": "2026-11-21T08:45:00+01:00",
            "generatorURL": "https://grafana.example.com/alerting/grafana/tox1/view",
            "fingerprint": "9e1b7a6c54d0f311",
            "silenceURL": "https://grafana.example.com/alerting/silence/new?matcher=ai_system%3Dsupport-summarizer",
            "dashboardURL": "https://grafana.example.com/d/support-safety",
            "panelURL": "https://grafana.example.com/d/support-safety?viewPanel=3",
            "values": {"B": 0.004, "C": 0},
            "valueString": "[ var='B' labels={} value=0.004 ], [ var='C' labels={} value=0 ]",
        }
    ],
    "groupLabels": {"alertname": "ToxicityRate"},
    "commonLabels": {"alertname": "ToxicityRate", "ai_system": "support-summarizer"},
    "commonAnnotations": {},
    "externalURL": "https://grafana.example.com/",
    "version": "1",
    "groupKey": '{}:{alertname="ToxicityRate"}',
    "truncatedAlerts": 0,
    "title": "[RESOLVED] ToxicityRate (support-summarizer)",
    "state": "ok",
    "message": "Resolved: ToxicityRate",
}

OPENAPI_BODY: Final = request_body(
    'Grafana\'s unified-alerting webhook notification (`version: "1"`, Grafana 8+): one alert '
    "group. Each alert becomes one io.aigov.alert.raised.v1 or io.aigov.alert.resolved.v1, "
    "published as one atomic batch. The AI system is the `ai_system` label, else `?system=`. "
    "The legacy pre-8 format (`ruleName`, `evalMatches`) is refused with 422; the contact "
    "point's Test notification is acknowledged and ignored.",
    {"application/json": (inline_schema(GrafanaNotification), EXAMPLE)},
)


@router.post(
    "/grafana",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Receive a Grafana alerting webhook notification",
    response_model=WebhookReceipt,
    dependencies=[Depends(require_roles(Role.PUBLISHER))],
    openapi_extra=OPENAPI_BODY,
    responses=accept_problems(400, 401, 403, 413, 415, 422, 429, 503),
)
async def receive_grafana(request: Request, principal: Caller) -> WebhookReceipt:
    """Publish one alert event per alert of the group, all or none (202 after the broker's ack)."""
    body = await read_json(request)
    try:
        notification = alerting.parse_grafana(body)
        if alerting.is_grafana_test(notification):
            # "Test" on the contact point must succeed without paging anyone.
            return ignored("TestAlert", "Grafana contact point test notification").receipt()
        system_id = alert_group_system(request, alerting.named_systems(notification))
        outcome = alerting.map_grafana(notification, system_id=system_id)
    except PayloadRejected as exc:
        raise ProblemError(422, exc.detail, errors=exc.errors) from None
    result = await accept(
        request, outcome.events(actor=principal.name), principal=principal, via=VIA
    )
    return outcome.receipt(result.answer())
