"""GitHub webhooks: deployments and their statuses, as typed models, mapped to deployment events.

| `X-GitHub-Event`    | condition                          | aigov                                    |
|---------------------|------------------------------------|------------------------------------------|
| `deployment`        | action `created`                   | deployment.requested                     |
| `deployment_status` | state `success`                    | deployment.completed (outcome succeeded) |
|                     | ... and `payload.ai_rollback_from` | + deployment.rolled_back                 |
|                     | state `failure` or `error`         | deployment.completed (outcome failed)    |
|                     | any other state                    | ignored (202): not final                 |
| `workflow_run`, `check_run` | any                        | ignored (202): no metrics to record      |
| anything else       |                                    | ignored (202)                            |

A deployment says which AI system and release it is about in its `payload`, which GitHub passes
through untouched: `ai_system` (else the webhook URL's `?system=`), `ai_release` (else the
deployment's `ref`, i.e. create deployments from the release tag), `ai_region` (else the URL's
`?region=`) and, for a rollback, `ai_rollback_from` (the release being replaced). The environment
name is not used as a system id: every system in a repository deploys to `production`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from aigov_events.catalog import (
    DeploymentCompleted,
    DeploymentOutcome,
    DeploymentRequested,
    DeploymentRolledBack,
    EventPayload,
    PipelineRef,
)
from aigov_events.catalog.primitives import WebUrl
from aigov_events.message import DomainEvent, new_event
from aigov_intake.attribution import SYSTEM_KEY
from aigov_runtime.errors import FieldError

RELEASE_KEY: Final = "ai_release"
#: Query parameter of the webhook URL naming the region when deployments do not.
REGION_PARAMETER: Final = "region"
REGION_KEY: Final = "ai_region"
ROLLBACK_KEY: Final = "ai_rollback_from"
#: CloudEvents `source` when a delivery names no repository.
DEFAULT_SOURCE: Final = "https://github.com"
_EVENT_ID_NAMESPACE: Final = uuid.UUID("0e6a2d4c-3b1f-4f57-8c7e-2a9d51c4b7f3")
_MAX_TEXT: Final = 4000

_SUCCEEDED: Final = frozenset({"success"})
_FAILED: Final = frozenset({"failure", "error"})
_NO_METRICS: Final = (
    "{event} deliveries carry no evaluation metrics, so they are not evidence aigov can "
    "check; send results with POST /v1/events (io.aigov.evaluation.completed.v1)"
)

_WEB_URL: Final = TypeAdapter(WebUrl)
Text = Annotated[str, StringConstraints(max_length=10_000)]


class _Lenient(BaseModel):
    """A third-party shape: fields GitHub adds over time are ignored, not errors."""

    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


class Repository(_Lenient):
    """The repository a delivery is about."""

    full_name: Text
    html_url: Text | None = None


class WorkflowRun(_Lenient):
    """The Actions run that created a deployment, when one did."""

    id: int
    html_url: Text | None = None


class Deployment(_Lenient):
    """A GitHub deployment: a request to deploy `ref` to `environment`."""

    id: int
    sha: Text
    ref: Text
    environment: Text
    description: Text | None = None
    payload: dict[str, Any] | Text | None = None
    """Free-form data the deployment's creator attached (an object, or a JSON string)."""
    created_at: AwareDatetime

    def extra(self, key: str) -> str | None:
        """A string the creator put in `payload` under `key`."""
        payload = self.payload
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except ValueError:
                return None
        value = payload.get(key) if isinstance(payload, dict) else None
        return value.strip() if isinstance(value, str) and value.strip() else None


class DeploymentStatus(_Lenient):
    """A status GitHub (or a deploy tool) reported for a deployment."""

    id: int
    state: Text
    environment: Text | None = None
    description: Text | None = None
    target_url: Text | None = None
    log_url: Text | None = None
    created_at: AwareDatetime


class DeploymentDelivery(_Lenient):
    """Body of a `deployment` event."""

    action: Text
    deployment: Deployment
    repository: Repository | None = None
    workflow_run: WorkflowRun | None = None
    deployment_status: None = None
    """Absent from real deployment events. `X-GitHub-Event` is not signed, so a status body
    relabelled as a deployment is refused rather than recorded as a second request."""


class DeploymentStatusDelivery(_Lenient):
    """Body of a `deployment_status` event."""

    action: Text
    deployment_status: DeploymentStatus
    deployment: Deployment
    repository: Repository | None = None
    workflow_run: WorkflowRun | None = None


@dataclass(frozen=True)
class Ignored:
    """A delivery intake acknowledges (202) without publishing anything, and why."""

    reason: str


@dataclass(frozen=True)
class DeploymentFacts:
    """What a delivery says about a deployment, before its AI system is known."""

    source: str
    time: datetime
    version: str
    environment: str
    pipeline: PipelineRef
    region: str | None = None
    outcome: DeploymentOutcome | None = None
    """None: the deployment was requested; else how it ended."""
    detail: str | None = None
    rollback_from: str | None = None
    rollback_reason: str | None = None
    system_candidates: tuple[str | None, ...] = ()
    looked_in: str = f"the deployment's `payload.{SYSTEM_KEY}`"
    paths: Mapping[str, tuple[str | int, ...]] = field(default_factory=dict)
    """Catalog field -> where it came from in the request, to locate validation errors."""


class MappingError(Exception):
    """The delivery cannot be represented as catalog events (422 naming the fields)."""

    def __init__(self, detail: str, errors: list[FieldError]) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


def interpret(event: str, body: Any) -> DeploymentFacts | Ignored:
    """What a delivery of GitHub event `event` says, or why it is ignored.

    Raises pydantic's ValidationError when the body lacks what the event must carry.
    """
    if event == "deployment":
        delivery = DeploymentDelivery.model_validate(body)
        if delivery.action != "created":
            return Ignored(f"deployment action {delivery.action!r} is not used by aigov")
        return _requested(delivery)
    if event == "deployment_status":
        return _status(DeploymentStatusDelivery.model_validate(body))
    if event in ("workflow_run", "check_run"):
        return Ignored(_NO_METRICS.format(event=event))
    return Ignored(f"GitHub event {event!r} is not used by aigov; nothing published")


def _common(
    deployment: Deployment, repository: Repository | None, environment: str, where: str
) -> dict[str, Any]:
    release = deployment.extra(RELEASE_KEY)
    version_at = (
        ("body", "deployment", "payload", RELEASE_KEY) if release else ("body", "deployment", "ref")
    )
    return {
        "source": _web_url(repository.html_url if repository else None) or DEFAULT_SOURCE,
        "version": release or deployment.ref,
        "environment": _slug(environment),
        "region": deployment.extra(REGION_KEY),
        "system_candidates": (deployment.extra(SYSTEM_KEY),),
        "paths": {
            "version": version_at,
            "to_version": version_at,
            "environment": ("body", where, "environment"),
            "region": ("body", "deployment", "payload", REGION_KEY),
            "from_version": ("body", "deployment", "payload", ROLLBACK_KEY),
        },
    }


def _requested(delivery: DeploymentDelivery) -> DeploymentFacts:
    deployment = delivery.deployment
    run_url = delivery.workflow_run.html_url if delivery.workflow_run else None
    return DeploymentFacts(
        time=deployment.created_at,
        pipeline=PipelineRef(id=str(deployment.id), url=_web_url(run_url)),
        **_common(deployment, delivery.repository, deployment.environment, "deployment"),
    )


def _status(delivery: DeploymentStatusDelivery) -> DeploymentFacts | Ignored:
    status, deployment = delivery.deployment_status, delivery.deployment
    state = status.state.lower()
    if state in _SUCCEEDED:
        outcome = DeploymentOutcome.SUCCEEDED
    elif state in _FAILED:
        outcome = DeploymentOutcome.FAILED
    else:
        return Ignored(f"deployment status {status.state!r} is not final; nothing published")
    run_url = delivery.workflow_run.html_url if delivery.workflow_run else None
    url = _web_url(status.log_url) or _web_url(status.target_url) or _web_url(run_url)
    rollback_from = (
        deployment.extra(ROLLBACK_KEY) if outcome is DeploymentOutcome.SUCCEEDED else None
    )
    environment = status.environment or deployment.environment
    where = "deployment_status" if status.environment else "deployment"
    return DeploymentFacts(
        time=status.created_at,
        pipeline=PipelineRef(id=str(deployment.id), url=url),
        outcome=outcome,
        detail=_text(status.description),
        rollback_from=rollback_from,
        rollback_reason=_text(deployment.description),
        **_common(deployment, delivery.repository, environment, where),
    )


def _web_url(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return _WEB_URL.validate_python(value)
    except ValidationError:
        return None


def _text(value: str | None) -> str | None:
    """Free text the catalog can hold: non-blank, at most 4000 characters."""
    if value is None or not value.strip():
        return None
    return value.strip()[:_MAX_TEXT]


def _slug(environment: str) -> str:
    """A GitHub environment name as a catalog slug (`Production EU` -> `production-eu`)."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", environment.strip().lower()).strip("-")
    # Left as it was when it cannot be a slug, so the 422 shows the name the sender used.
    return slug or environment


def event_id(body_digest: str, event_type: str) -> str:
    """A deterministic event id from what GitHub signed (the body), so replays are duplicates.

    `X-GitHub-Delivery` is not covered by the signature: ids derived from it would let a
    captured body be replayed under a fresh delivery id. GitHub's redeliveries resend the
    same body, so they map to the same id either way.
    """
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{body_digest}\n{event_type}"))


def to_events(
    facts: DeploymentFacts,
    *,
    system_id: str,
    region: str | None,
    body_digest: str,
    actor: str,
) -> list[DomainEvent[Any]]:
    """The catalog events for `facts` about a deployment of `system_id`.

    `region` (from the webhook URL) is used when the deployment's payload names none.
    """
    paths = dict(facts.paths)
    if facts.region is None and region is not None:
        paths["region"] = ("query", REGION_PARAMETER)
    region = facts.region or region
    if region is None:
        raise MappingError(
            "cannot tell which region this deployment is in",
            [
                FieldError(
                    loc=list(paths["region"]),
                    msg=f"set `payload.{REGION_KEY}` on the deployment, or add ?region=<region> "
                    "to the webhook URL",
                    type="missing",
                )
            ],
        )
    common: dict[str, Any] = {
        "system_id": system_id,
        "version": facts.version,
        "environment": facts.environment,
        "region": region,
        "pipeline": facts.pipeline,
    }
    payloads: list[EventPayload] = []
    try:
        if facts.outcome is None:
            payloads.append(DeploymentRequested(**common))
        else:
            payloads.append(
                DeploymentCompleted(**common, outcome=facts.outcome, detail=facts.detail)
            )
            if facts.rollback_from is not None:
                payloads.append(
                    DeploymentRolledBack(
                        system_id=system_id,
                        from_version=facts.rollback_from,
                        to_version=facts.version,
                        environment=facts.environment,
                        region=region,
                        reason=facts.rollback_reason
                        or f"GitHub deployment {facts.pipeline.id} rolled back to {facts.version}",
                        pipeline=facts.pipeline,
                    )
                )
    except ValidationError as exc:
        raise MappingError(
            "the delivery cannot be recorded as an aigov deployment event",
            _located(exc, paths),
        ) from None
    return [
        new_event(
            payload,
            source=facts.source,
            actor=actor,
            event_id=event_id(body_digest, payload.event_type),
            time=facts.time,
        )
        for payload in payloads
    ]


def _located(exc: ValidationError, paths: Mapping[str, tuple[str | int, ...]]) -> list[FieldError]:
    errors = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = error["loc"]
        head = str(loc[0]) if loc else ""
        where = paths.get(head, ("body", head)) if head else ("body",)
        errors.append(FieldError(loc=list(where), msg=error["msg"], type=error["type"]))
    return errors
