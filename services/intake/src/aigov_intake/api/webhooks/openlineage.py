"""`POST /v1/webhooks/openlineage`: OpenLineage events -> lineage evidence.

The mapping lives in `aigov_intake.adapters.openlineage`; docs/integrations/openlineage.md
shows the `openlineage.yml` HTTP transport to use.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Depends, Request, status

from aigov_intake.adapters import (
    PayloadRejected,
    WebhookReceipt,
    ignored,
    inline_schema,
    openlineage,
    request_body,
)
from aigov_intake.api.deps import Caller, accept, accept_problems
from aigov_intake.attribution import QUERY_PARAMETER, resolve_system
from aigov_intake.bodies import read_json
from aigov_runtime.auth import Role, require_roles
from aigov_runtime.errors import ProblemError

router = APIRouter()

VIA: Final = "webhook:openlineage"
#: `?unattributed=ignore`: acknowledge events naming no AI system instead of refusing them,
#: for schedulers that send every job's lineage to one endpoint.
UNATTRIBUTED_PARAMETER: Final = "unattributed"

EXAMPLE: Final[dict[str, Any]] = {
    "eventType": "COMPLETE",
    "eventTime": "2026-02-03T10:15:00.000Z",
    "run": {
        "runId": "0195a6f2-7c1e-7b3a-9d4f-2e8c1a5b7d90",
        "facets": {
            "tags": {
                "_producer": "https://github.com/OpenLineage/OpenLineage/tree/1.24.0/integration/airflow",
                "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/TagsRunFacet.json",
                "tags": [{"key": "ai_release", "value": "2026.2.0", "source": "USER"}],
            }
        },
    },
    "job": {
        "namespace": "talent-ml",
        "name": "train_ranker",
        "facets": {
            "tags": {
                "_producer": "https://github.com/OpenLineage/OpenLineage/tree/1.24.0/integration/airflow",
                "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/TagsJobFacet.json",
                "tags": [{"key": "ai_system", "value": "resume-screener", "source": "USER"}],
            }
        },
    },
    "inputs": [
        {
            "namespace": "postgres://hr-warehouse:5432",
            "name": "hiring.decisions_2025_q4",
            "facets": {
                "schema": {
                    "_producer": "https://github.com/OpenLineage/OpenLineage/tree/1.24.0/integration/airflow",
                    "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
                    "fields": [{"name": "candidate_id", "type": "BIGINT"}],
                }
            },
        }
    ],
    "outputs": [{"namespace": "s3://talent-models", "name": "ranker/2026.2.0"}],
    "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.24.0/integration/airflow",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
}

OPENAPI_BODY: Final = request_body(
    "An OpenLineage RunEvent, JobEvent or DatasetEvent, bare or as the `detail` of an AWS "
    "EventBridge event. Run and job events of jobs tagged `ai_system` (tags facet of the run "
    "or job) become io.aigov.lineage.recorded.v1; DatasetEvents and heartbeat RUNNING events "
    "are acknowledged and ignored. Without a tag, `?system=` names the system; "
    "`?unattributed=ignore` acknowledges untagged events instead of refusing them.",
    {
        "application/json": (
            {
                "oneOf": [
                    inline_schema(openlineage.RunEvent),
                    inline_schema(openlineage.JobEvent),
                    inline_schema(openlineage.DatasetEvent),
                    inline_schema(openlineage.EventBridgeEnvelope),
                ]
            },
            EXAMPLE,
        )
    },
)


@router.post(
    "/openlineage",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Receive an OpenLineage event",
    response_model=WebhookReceipt,
    dependencies=[Depends(require_roles(Role.PUBLISHER))],
    openapi_extra=OPENAPI_BODY,
    responses=accept_problems(400, 401, 403, 413, 415, 422, 429, 503),
)
async def receive_openlineage(request: Request, principal: Caller) -> WebhookReceipt:
    """Record the datasets of a tagged run or job as lineage evidence (202 after the broker's ack)."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        # The transport's `compression: gzip`; inflating untrusted bodies past the size limit
        # is not worth the bytes saved on one event.
        raise ProblemError(
            415,
            f"Content-Encoding {encoding!r} is not accepted: turn off the transport's compression",
            headers={"Accept-Encoding": "identity"},
        )
    body = await read_json(request)
    try:
        received = openlineage.receive(body)
        reason = openlineage.ignore_reason(received)
        named = openlineage.named_systems(received)
        if reason is not None:
            outcome = ignored(openlineage.describe(received), reason)
        elif not named and _ignore_unattributed(request):
            outcome = ignored(
                openlineage.describe(received), "no ai_system tag (?unattributed=ignore)"
            )
        else:
            system_id = resolve_system(request, named, looked_in=openlineage.LOOKED_IN)
            outcome = openlineage.to_outcome(received, system_id=system_id)
    except PayloadRejected as exc:
        raise ProblemError(422, exc.detail, errors=exc.errors) from None
    events = outcome.events(actor=principal.name)
    if not events:
        return outcome.receipt()
    result = await accept(request, events, principal=principal, via=VIA)
    return outcome.receipt(result.answer())


def _ignore_unattributed(request: Request) -> bool:
    params = request.query_params
    return QUERY_PARAMETER not in params and params.get(UNATTRIBUTED_PARAMETER) == "ignore"
