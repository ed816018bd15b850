"""`POST /v1/systems`: register an AI system or add a revision of its manifest (JSON or YAML).

Intake numbers revisions from what it recorded itself (`service.current_system`) with
`manifests.plan_revision`, the computation manifests sent as events go through too: no
record means `system.registered` revision 1; a different manifest hash means
`system.updated` with the next revision and the previous hash; the same hash changes
nothing and publishes nothing. A retired system's id is not reused (409): the catalog has
no event that returns a retired system to service, so consumers could not agree on it.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any, Final

import yaml
from fastapi import APIRouter, Depends, Request, Response, status

from aigov_events.catalog import AISystemManifest, SystemRegistered, SystemUpdated
from aigov_intake import service
from aigov_intake.api.deps import Caller, accept_problems, revision_locks, sessionmaker
from aigov_intake.api.typed_common import (
    IdempotencyKey,
    authorize,
    clock,
    parsing,
    publish,
    source,
    validate_body_as,
)
from aigov_intake.api.typed_examples import SYSTEMS_YAML
from aigov_intake.api.typed_openapi import inline_schema
from aigov_intake.bodies import (
    JSON_TYPES,
    YAML_TYPES,
    parse_json,
    read_yaml,
    require_media_type,
    unprocessable,
)
from aigov_intake.manifests import plan_revision, retired_detail
from aigov_intake.schemas import SystemAccepted
from aigov_runtime.errors import FieldError, ProblemError
from aigov_runtime.tags import Tag

router = APIRouter(tags=[Tag.SYSTEMS])

ENDPOINT_SOURCE: Final = source("systems")
#: A manifest is small; these bound what a YAML alias bomb or a deeply nested unknown
#: field can make the hash and the event cost (the byte limit alone does not).
MAX_DOCUMENT_VALUES: Final = 50_000
MAX_DOCUMENT_DEPTH: Final = 64
MAX_REPORTED_ERRORS: Final = 50

Loc = list[str | int]


def document_errors(document: Any) -> list[FieldError]:
    """Where a parsed body holds something that is not plain JSON data (YAML dates, NaN, ...).

    Unknown manifest fields are kept verbatim and hashed, so they must survive a JSON
    round trip unchanged. Raises a 413 problem when the document has too many values.
    """
    errors: list[FieldError] = []
    pending: list[tuple[Any, Loc]] = [(document, ["body"])]
    visited = 0
    while pending:
        value, loc = pending.pop()
        visited += 1
        if visited > MAX_DOCUMENT_VALUES:
            raise ProblemError(
                413, f"the manifest holds more than {MAX_DOCUMENT_VALUES} values (YAML aliases?)"
            )
        problem = _not_json(value)
        if problem is None and len(loc) > MAX_DOCUMENT_DEPTH:
            problem = f"nested deeper than {MAX_DOCUMENT_DEPTH} levels"
        if problem is not None:
            errors.append(FieldError(loc=loc, msg=problem, type="json_value"))
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    errors.append(
                        FieldError(
                            loc=[*loc, str(key)], msg="keys must be strings", type="json_value"
                        )
                    )
                else:
                    pending.append((item, [*loc, key]))
        elif isinstance(value, list):
            pending.extend((item, [*loc, index]) for index, item in enumerate(value))
    return errors[:MAX_REPORTED_ERRORS]


def _not_json(value: Any) -> str | None:
    if value is None or isinstance(value, str | bool | int | list | dict):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "not a finite number"
    if isinstance(value, date):  # datetime too
        return "a YAML date or timestamp: quote it to keep it as text"
    return f"a YAML {type(value).__name__} is not a JSON value"


def unknown_field_warnings(manifest: AISystemManifest) -> list[str]:
    """One warning per field the format does not define (kept, but likely a typo)."""
    return [
        f"{path}: not a field of aigov.io/v1 AISystem; kept in the manifest (check the spelling)"
        for path in manifest.unknown_fields()
    ]


async def read_manifest(request: Request) -> AISystemManifest:
    """The body as a manifest: JSON or YAML (415 / 400), plain data and a valid AISystem (422)."""
    kind = require_media_type(request, JSON_TYPES | YAML_TYPES)
    if kind in YAML_TYPES:
        # In a worker thread, within the app's AIGOV_MAX_YAML_BYTES / _NODES: a large or
        # alias-heavy manifest must not stall every other request on the event loop.
        with parsing("YAML"):
            document = await read_yaml(request)
    else:
        with parsing("JSON"):
            document = parse_json(await request.body())
    if errors := document_errors(document):
        raise unprocessable("the manifest holds values that are not JSON data", errors)
    return validate_body_as(AISystemManifest, document)


_MANIFEST_SCHEMA: Final = inline_schema(AISystemManifest)
OPENAPI_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "description": (
            "An AI system manifest in the public `apiVersion: aigov.io/v1`, `kind: AISystem` "
            "format, as JSON or YAML (`application/yaml`, `application/x-yaml`, `text/yaml`). "
            "Unknown fields are kept and reported in `warnings`."
        ),
        "content": {
            "application/json": {
                "schema": _MANIFEST_SCHEMA,
                "examples": {
                    name.removesuffix(".yaml"): {"value": yaml.safe_load(text)}
                    for name, text in SYSTEMS_YAML.items()
                },
            },
            "application/yaml": {
                "schema": _MANIFEST_SCHEMA,
                "examples": {
                    name.removesuffix(".yaml"): {"value": text}
                    for name, text in SYSTEMS_YAML.items()
                },
            },
        },
    }
}


@router.post(
    "/systems",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Register an AI system or add a manifest revision",
    response_model=SystemAccepted,
    openapi_extra=OPENAPI_BODY,
    responses={
        200: {"model": SystemAccepted, "description": "Same manifest as the current revision."},
        **accept_problems(
            400, 401, 403, 413, 415, 422, 429, 503, conflict="the AI system was retired"
        ),
    },
)
async def submit_system(
    request: Request,
    response: Response,
    principal: Caller,
    now: Annotated[datetime, Depends(clock)],
    idempotency_key: IdempotencyKey = None,
) -> SystemAccepted:
    """Publish `system.registered` or `system.updated` (new manifest hash); 200 if unchanged."""
    authorize(principal, SystemRegistered, SystemUpdated)
    manifest = await read_manifest(request)
    digest = manifest.content_sha256()
    system_id = manifest.metadata.id
    warnings = unknown_field_warnings(manifest)
    maker = sessionmaker(request)
    # Read, publish, record under the system's lock: overlapping submissions (here or on
    # another replica) would otherwise both number their manifest N+1.
    async with revision_locks(request).hold(system_id):
        current = await service.current_system(maker, system_id)
        if current is not None and current.retired:
            raise ProblemError(409, retired_detail(system_id))
        payload = plan_revision(manifest, digest, current)
        if payload is None:
            assert current is not None  # plan_revision returns None only for a known system
            response.status_code = status.HTTP_200_OK
            return SystemAccepted(
                system_id=system_id,
                revision=current.revision,
                manifest_sha256=digest,
                changed=False,
                warnings=warnings,
            )
        published = await publish(
            request,
            payload,
            principal=principal,
            endpoint_source=ENDPOINT_SOURCE,
            idempotency_key=idempotency_key,
            now=now,
            manifests_numbered=True,
        )
    if published.duplicate:
        # The key was used before (for another manifest, or a stale retry): nothing changed now.
        latest = await service.current_system(maker, system_id)
        return SystemAccepted(
            system_id=system_id,
            revision=latest.revision if latest is not None else payload.revision,
            manifest_sha256=digest,
            changed=False,
            event_id=published.event_id,
            event_type=published.event_type,
            duplicate=True,
            warnings=warnings,
            source=published.source,
        )
    return SystemAccepted(
        system_id=system_id,
        revision=payload.revision,
        manifest_sha256=digest,
        changed=True,
        event_id=published.event_id,
        event_type=published.event_type,
        previous_manifest_sha256=(
            payload.previous_manifest_sha256 if isinstance(payload, SystemUpdated) else None
        ),
        warnings=warnings,
        source=published.source,
    )
