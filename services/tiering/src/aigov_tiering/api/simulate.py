"""`POST /v1/tiering/simulate`: the decision a manifest would get, before its team registers it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import yaml
from fastapi import APIRouter, Depends, Request

from aigov_events.catalog.manifest import AISystemManifest
from aigov_runtime.errors import ProblemError, problem_responses
from aigov_runtime.openapi import inline_schema
from aigov_runtime.ratelimit import limited_principal
from aigov_runtime.tags import Tag
from aigov_tiering.api.body import read_document, validate_as
from aigov_tiering.api.deps import ActivePack
from aigov_tiering.policy.errors import RuleEvaluationError
from aigov_tiering.schemas import SimulationResult
from aigov_tiering.simulation import simulate

router = APIRouter(prefix="/v1/tiering", tags=[Tag.POLICIES])

_MANIFEST_SCHEMA: Final = inline_schema(AISystemManifest)
_EXAMPLE_YAML: Final = Path(__file__).with_name("example-manifest.yaml").read_text(encoding="utf-8")
_EXAMPLE: Final = yaml.safe_load(_EXAMPLE_YAML)
_PREVIOUS: Final = {
    **_EXAMPLE,
    "spec": {
        **_EXAMPLE["spec"],
        "deployment": {**_EXAMPLE["spec"]["deployment"], "regions": ["EU"]},
    },
}
_BODY_SCHEMA: Final = {
    "oneOf": [
        _MANIFEST_SCHEMA,
        {
            "type": "object",
            "title": "ManifestWithPrevious",
            "required": ["manifest"],
            "additionalProperties": False,
            "properties": {"manifest": _MANIFEST_SCHEMA, "previous": _MANIFEST_SCHEMA},
        },
    ]
}
OPENAPI_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "description": (
            'An `aigov.io/v1` `AISystem` manifest, or `{"manifest": …, "previous": …}` to '
            "also learn whether `manifest` is a material change against `previous`; as JSON or "
            "YAML (`application/yaml`, `application/x-yaml`, `text/yaml`)."
        ),
        "content": {
            "application/json": {
                "schema": _BODY_SCHEMA,
                "examples": {
                    "manifest": {"value": _EXAMPLE},
                    "with-previous": {"value": {"manifest": _EXAMPLE, "previous": _PREVIOUS}},
                },
            },
            "application/yaml": {
                "schema": _BODY_SCHEMA,
                "examples": {"manifest": {"value": _EXAMPLE_YAML}},
            },
        },
    }
}


@router.post(
    "/simulate",
    summary="Dry-run the policy on a manifest",
    response_model=SimulationResult,
    response_model_exclude_none=True,
    openapi_extra=OPENAPI_BODY,
    # Any authenticated caller may simulate: the rate limit bounds what one caller costs.
    dependencies=[Depends(limited_principal)],
    responses=problem_responses(400, 401, 413, 415, 422, 429),
)
async def simulate_manifest(request: Request, pack: ActivePack) -> SimulationResult:
    """The tier, reasons, required controls and obligations the manifest would get now; nothing is stored."""
    document = await read_document(request)
    previous = None
    if isinstance(document, dict) and "manifest" in document and "apiVersion" not in document:
        extra = sorted(set(document) - {"manifest", "previous"})
        if extra:
            raise ProblemError(
                422, f"unexpected top-level field(s) {extra}: expected manifest, previous"
            )
        manifest = validate_as(AISystemManifest, document["manifest"], loc=("body", "manifest"))
        if document.get("previous") is not None:
            previous = validate_as(AISystemManifest, document["previous"], loc=("body", "previous"))
    else:
        manifest = validate_as(AISystemManifest, document, loc=("body",))
    try:
        return simulate(manifest, pack, previous=previous)
    except RuleEvaluationError as exc:
        raise ProblemError(422, f"the policy cannot evaluate this manifest: {exc}") from None
