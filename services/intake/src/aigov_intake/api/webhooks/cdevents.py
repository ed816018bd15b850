"""`POST /v1/webhooks/cdevents`: CDEvents over the CloudEvents HTTP binding -> aigov events.

The mapping table lives in `aigov_intake.adapters.cdevents`; docs/integrations/cdevents.md
shows how to send CDEvents here.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Depends, Request, status

from aigov_events.envelope import STRUCTURED_CONTENT_TYPE
from aigov_intake.adapters import (
    PayloadRejected,
    WebhookReceipt,
    cdevents,
    inline_schema,
    request_body,
)
from aigov_intake.api.deps import Caller, accept, accept_problems
from aigov_intake.attribution import resolve_system
from aigov_intake.bodies import parse_json, require_media_type
from aigov_runtime.auth import Role, require_roles
from aigov_runtime.errors import ProblemError

router = APIRouter()

VIA: Final = "webhook:cdevents"
REGION_PARAMETER: Final = "region"
MEDIA_TYPES: Final = frozenset(
    {"application/json", cdevents.CDEVENTS_CONTENT_TYPE, STRUCTURED_CONTENT_TYPE}
)

EXAMPLE: Final[dict[str, Any]] = {
    "context": {
        "specversion": "0.5.0",
        "id": "8d0f3a52-61b4-4c3e-9a77-0f1e2d3c4b5a",
        "source": "https://argocd.example.com/applications/support-summarizer",
        "type": "dev.cdevents.service.deployed.0.3.0",
        "timestamp": "2026-11-21T10:04:12.513Z",
        "chainId": "deploy-4410",
    },
    "subject": {
        "id": "support/support-summarizer",
        "source": "https://argocd.example.com",
        "content": {
            "environment": {"id": "production", "source": "https://argocd.example.com"},
            "artifactId": "pkg:oci/support-summarizer@sha256%3A5b0c7c1e8f0d4f7e9d8a2f0b6f7f2a115b0c7c1e8f0d4f7e9d8a2f0b6f7f2a11?tag=2026.11.3",
        },
    },
    "customData": {"ai_system": "support-summarizer", "ai_region": "EU"},
    "customDataContentType": "application/json",
}

_CDEVENT_SCHEMA: Final = inline_schema(cdevents.CDEvent)

OPENAPI_BODY: Final = request_body(
    "A CDEvent (0.4 or 0.5) in CloudEvents HTTP binary mode (`ce-specversion`, `ce-id`, "
    "`ce-source`, `ce-type` headers; the body is the CDEvent), structured mode "
    "(`application/cloudevents+json`; `data` is the CDEvent), or bare. service.deployed/"
    "upgraded/rolledback, incident.detected/reported/resolved and test runs with results map "
    "to aigov events; other types are acknowledged and listed as ignored. The AI system is "
    "`customData.ai_system`, else `?system=`; a deployment's region is "
    "`customData.ai_region`, else `?region=`.",
    {
        "application/json": (_CDEVENT_SCHEMA, EXAMPLE),
        cdevents.CDEVENTS_CONTENT_TYPE: (_CDEVENT_SCHEMA, EXAMPLE),
        STRUCTURED_CONTENT_TYPE: (
            {
                "type": "object",
                "required": ["specversion", "id", "source", "type", "data"],
                "properties": {
                    "specversion": {"const": "1.0"},
                    "id": {"type": "string"},
                    "source": {"type": "string"},
                    "type": {"type": "string"},
                    "data": _CDEVENT_SCHEMA,
                },
            },
            {
                "specversion": "1.0",
                "id": EXAMPLE["context"]["id"],
                "source": EXAMPLE["context"]["source"],
                "type": EXAMPLE["context"]["type"],
                "time": EXAMPLE["context"]["timestamp"],
                "datacontenttype": "application/json",
                "data": EXAMPLE,
            },
        ),
    },
)


@router.post(
    "/cdevents",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Receive a CDEvent (CloudEvents binary or structured mode)",
    response_model=WebhookReceipt,
    dependencies=[Depends(require_roles(Role.PUBLISHER))],
    openapi_extra=OPENAPI_BODY,
    responses=accept_problems(400, 401, 403, 413, 415, 422, 429, 503),
)
async def receive_cdevent(request: Request, principal: Caller) -> WebhookReceipt:
    """Map one CDEvent to its aigov events and publish them, or acknowledge it as ignored (202)."""
    media_type = require_media_type(request, MEDIA_TYPES)
    body = parse_json(await request.body())
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        received = cdevents.receive(media_type, headers, body)
        if cdevents.is_mapped(received):
            system_id = resolve_system(
                request, cdevents.named_systems(received), looked_in=cdevents.LOOKED_IN
            )
            outcome = cdevents.to_outcome(
                received, system_id=system_id, region=request.query_params.get(REGION_PARAMETER)
            )
        else:
            outcome = cdevents.ignore(received)
    except PayloadRejected as exc:
        raise ProblemError(422, exc.detail, errors=exc.errors) from None
    events = outcome.events(actor=principal.name)
    if not events:
        return outcome.receipt()
    result = await accept(request, events, principal=principal, via=VIA)
    return outcome.receipt(result.answer())
