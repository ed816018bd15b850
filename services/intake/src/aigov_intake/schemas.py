"""Request and response bodies of intake's typed endpoints, and their mapping to catalog payloads.

The request bodies are the public format of `examples/requests/*.json`: flat JSON
where `system` names the AI system. Each request model declares the same constrained types
as the catalog (so the OpenAPI schema is real and errors point at the request's own field
names), and `to_payload()` maps it to its catalog event. Cross-field rules (unique metric
names, rollback versions differ, ...) live only in the catalog; when one fails, the error is
reported under the request's field name (`dataset`, not `datasets[0]`).

Unknown fields are rejected (422), as in the catalog: a misspelt optional field would
otherwise be dropped silently from the evidence. The AI system manifest is the exception
(see `aigov_events.catalog.manifest`): it keeps unknown fields and intake warns about them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Final, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aigov_events.catalog import (
    AlertRaised,
    AlertSeverity,
    ApprovalDenied,
    ApprovalGranted,
    ApprovalScope,
    ArtifactSubmitted,
    DeploymentCompleted,
    DeploymentOutcome,
    DeploymentRequested,
    DeploymentRolledBack,
    EvaluationCompleted,
    EventPayload,
    IncidentAcknowledged,
    IncidentContained,
    IncidentReported,
    IncidentResolved,
    IncidentSeverity,
    PipelineRef,
    WaiverGranted,
    WaiverRejected,
    WaiverRequested,
)
from aigov_events.catalog.approvals import EvidenceEventIds, EvidenceLinks
from aigov_events.catalog.primitives import (
    ControlId,
    Identifier,
    Labels,
    Name,
    ReleaseVersion,
    Sha256Hex,
    Slug,
    SystemId,
    Text,
    Timestamp,
    Uri,
    WebUrl,
)
from aigov_events.catalog.releases import DatasetRef, Metric, RunRef, SectionKey, SectionText
from aigov_events.catalog.signals import Summary
from aigov_runtime.errors import FieldError

P = TypeVar("P", bound=EventPayload)
Loc = tuple[str | int, ...]

#: Every request names its AI system `system`; every payload calls it `system_id`.
_SYSTEM_LOC: Final[Mapping[Loc, Loc]] = {("system_id",): ("system",)}


class InvalidRequest(ValueError):
    """A request that validated on its own maps to an invalid event; `errors` locate the fields."""

    def __init__(self, detail: str, errors: list[FieldError]) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


def _request_loc(loc: Loc, renamed: Mapping[Loc, Loc]) -> list[str | int]:
    """A payload error location in the request's terms (longest renamed prefix wins)."""
    for size in range(len(loc), 0, -1):
        if (target := renamed.get(loc[:size])) is not None:
            return ["body", *target, *loc[size:]]
    return ["body", *loc]


def build_payload(
    model: type[P], fields: Mapping[str, Any], *, renamed: Mapping[Loc, Loc] = _SYSTEM_LOC
) -> P:
    """`model` from `fields` (None meaning absent), or InvalidRequest located in request terms."""
    try:
        return model.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        locations = {**_SYSTEM_LOC, **renamed}
        errors = [
            FieldError(
                loc=_request_loc(tuple(err["loc"]), locations), msg=err["msg"], type=err["type"]
            )
            for err in exc.errors(include_url=False, include_input=False)
        ]
        raise InvalidRequest(
            f"the request does not make a valid {model.event_type}", errors
        ) from None


class RequestBody(BaseModel):
    """Base of the typed request bodies: unknown fields and non-finite numbers are errors."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, use_attribute_docstrings=True
    )


class SystemRequest(RequestBody):
    """A request about an AI system: `system` is its id."""

    system: SystemId
    """Id of the AI system (`metadata.id` of its manifest)."""


class ReleaseRequest(SystemRequest):
    """A request about one release of an AI system."""

    version: ReleaseVersion
    """Release version, as the CI/CD names it."""


# --- release evidence -------------------------------------------------------------------------


class EvaluationRequest(ReleaseRequest):
    """`POST /v1/evaluations`: an evaluation suite finished for a release."""

    suite: Name
    """Evaluation suite name (`release-evaluation`)."""
    dataset: DatasetRef
    """The dataset evaluated on (the event's `datasets` list holds it)."""
    metrics: Annotated[list[Metric], Field(min_length=1, max_length=500)]
    """Measured metrics, names unique; the policy pack's evaluation minimums refer to them."""
    raw_outputs_uri: Uri | None = None
    """Where the raw model outputs of the run are kept."""
    run: RunRef
    """The CI/ML run that produced the evaluation."""

    def to_payload(self) -> EvaluationCompleted:
        """The `evaluation.completed` event: the single `dataset` becomes `datasets`."""
        return build_payload(
            EvaluationCompleted,
            {
                "system_id": self.system,
                "version": self.version,
                "suite": self.suite,
                "metrics": self.metrics,
                "datasets": [self.dataset],
                "raw_outputs_uri": self.raw_outputs_uri,
                "run": self.run,
            },
            renamed={("datasets", 0): ("dataset",), ("datasets",): ("dataset",)},
        )


class ArtifactRequest(ReleaseRequest):
    """`POST /v1/artifacts`: a governance document attached to a release."""

    kind: Slug
    """Artifact kind (`model_card`, `data_sheet`, `risk_assessment`, ...)."""
    title: Name
    uri: Uri
    """Where the document lives."""
    sha256: Sha256Hex
    """SHA-256 of the document's bytes, pinning the exact version reviewed."""
    sections: Annotated[dict[SectionKey, SectionText], Field(max_length=64)] = Field(
        default_factory=dict
    )
    """Section name to text, for completeness checks and audit packs."""

    def to_payload(self) -> ArtifactSubmitted:
        """The `artifact.submitted` event (same fields, `system` renamed)."""
        return build_payload(
            ArtifactSubmitted,
            {
                "system_id": self.system,
                "version": self.version,
                "kind": self.kind,
                "title": self.title,
                "uri": self.uri,
                "sha256": self.sha256,
                "sections": self.sections,
            },
        )


class DeploymentStatus(StrEnum):
    """Which deployment event a `POST /v1/deployments` reports."""

    REQUESTED = "requested"
    COMPLETED = "completed"
    ROLLED_BACK = "rolled_back"


#: Fields that only make sense with one status (anything else there is an error, not ignored).
_DEPLOYMENT_STATUS_FIELDS: Final[Mapping[str, DeploymentStatus]] = {
    "outcome": DeploymentStatus.COMPLETED,
    "detail": DeploymentStatus.COMPLETED,
    "to_version": DeploymentStatus.ROLLED_BACK,
    "reason": DeploymentStatus.ROLLED_BACK,
}


class DeploymentRequest(ReleaseRequest):
    """`POST /v1/deployments`: a deployment was requested, completed, or rolled back."""

    environment: Slug
    """Target environment (`production`, `staging`)."""
    region: Name
    """Target region (`EU`, `us-east-1`)."""
    status: DeploymentStatus
    """`requested`, `completed` (with `outcome`) or `rolled_back` (with `to_version`, `reason`)."""
    pipeline: PipelineRef | None = None
    """The CI/CD pipeline run performing the deployment."""
    outcome: DeploymentOutcome | None = None
    """`completed` only: `succeeded` or `failed` (required: a failure must not read as success)."""
    detail: Text | None = None
    """`completed` only: why it failed, or notes on the rollout."""
    to_version: ReleaseVersion | None = None
    """`rolled_back` only: the release now serving; `version` is the one taken out of service."""
    reason: Text | None = None
    """`rolled_back` only: why the release was rolled back."""

    def to_payload(self) -> DeploymentRequested | DeploymentCompleted | DeploymentRolledBack:
        """The deployment event `status` selects."""
        misplaced = [
            FieldError(
                loc=["body", name],
                msg=f"only allowed when status is {status.value!r}",
                type="extra_forbidden",
            )
            for name, status in _DEPLOYMENT_STATUS_FIELDS.items()
            if getattr(self, name) is not None and status != self.status
        ]
        if misplaced:
            raise InvalidRequest(
                f"fields that do not apply to status {self.status.value!r}", misplaced
            )
        common = {
            "system_id": self.system,
            "environment": self.environment,
            "region": self.region,
            "pipeline": self.pipeline,
        }
        if self.status is DeploymentStatus.ROLLED_BACK:
            return build_payload(
                DeploymentRolledBack,
                {
                    **common,
                    "from_version": self.version,
                    "to_version": self.to_version,
                    "reason": self.reason,
                },
                renamed={("from_version",): ("version",)},
            )
        if self.status is DeploymentStatus.COMPLETED:
            return build_payload(
                DeploymentCompleted,
                {**common, "version": self.version, "outcome": self.outcome, "detail": self.detail},
            )
        return build_payload(DeploymentRequested, {**common, "version": self.version})


class ApprovalDecision(StrEnum):
    """An approver's decision."""

    GRANTED = "granted"
    DENIED = "denied"


class ApprovalRequest(ReleaseRequest):
    """`POST /v1/approvals`: an approver's decision on a release (or a material change)."""

    decision: ApprovalDecision
    """`granted` or `denied`."""
    rationale: Text
    evidence: Annotated[list[Text], Field(max_length=50)] = Field(default_factory=list)
    """References to the evidence the decision rests on (runs, documents), as free text."""
    evidence_event_ids: EvidenceEventIds = Field(default_factory=list)
    """CloudEvents ids (at most 50) of the records relied on; each must be an event intake
    accepted for this AI system (422 naming the others)."""
    evidence_links: EvidenceLinks = Field(default_factory=list)
    """https links (at most 20) to what the decision relied on."""
    role: Slug | None = None
    """Capacity the approver decides in (default `approver`); counted against required approvals."""
    scope: ApprovalScope | None = None
    """`release` (default) or `material_change`."""
    material_change_id: Identifier | None = None
    """The material change decided on; required iff `scope` is `material_change`."""

    def to_payload(self) -> ApprovalGranted | ApprovalDenied:
        """`approval.granted` or `approval.denied`; the approver is the event's actor."""
        fields = {
            "system_id": self.system,
            "version": self.version,
            "rationale": self.rationale,
            "evidence": self.evidence,
            "evidence_event_ids": self.evidence_event_ids,
            "evidence_links": self.evidence_links,
            "role": self.role,
            "scope": self.scope,
            "material_change_id": self.material_change_id,
        }
        if self.decision is ApprovalDecision.GRANTED:
            return build_payload(ApprovalGranted, fields)
        return build_payload(ApprovalDenied, fields)


# --- waivers ----------------------------------------------------------------------------------


class WaiverRequest(ReleaseRequest):
    """`POST /v1/waivers`: ask to ship a release without some required controls, for a while."""

    controls: Annotated[list[ControlId], Field(min_length=1, max_length=50)]
    """Control ids to waive (`evaluation.prompt_injection`)."""
    justification: Text
    compensating_controls: Annotated[list[Text], Field(max_length=20)] = Field(default_factory=list)
    """What mitigates the risk while the controls are missing."""
    expires_at: Timestamp
    """When the waiver stops covering the controls (must be in the future)."""

    def to_payload(self, *, waiver_id: str, now: datetime) -> WaiverRequested:
        """The `waiver.requested` event under the id intake issued."""
        if self.expires_at <= now:
            raise InvalidRequest(
                "the waiver would already have expired",
                [
                    FieldError(
                        loc=["body", "expires_at"],
                        msg=f"must be in the future (now is {now.isoformat()})",
                        type="value_error",
                    )
                ],
            )
        return build_payload(
            WaiverRequested,
            {
                "system_id": self.system,
                "version": self.version,
                "waiver_id": waiver_id,
                "controls": self.controls,
                "justification": self.justification,
                "compensating_controls": self.compensating_controls,
                "expires_at": self.expires_at,
            },
        )


class WaiverDecisionRequest(RequestBody):
    """`POST /v1/waivers/{waiver_id}/grant` or `/reject`: the approver's rationale."""

    rationale: Text

    def to_payload(
        self, *, grant: bool, system_id: str, version: str, waiver_id: str
    ) -> WaiverGranted | WaiverRejected:
        """`waiver.granted` or `waiver.rejected` for the waiver intake recorded."""
        fields = {
            "system_id": system_id,
            "version": version,
            "waiver_id": waiver_id,
            "rationale": self.rationale,
        }
        if grant:
            return build_payload(WaiverGranted, fields)
        return build_payload(WaiverRejected, fields)


# --- signals ----------------------------------------------------------------------------------


class AlertRequest(SystemRequest):
    """`POST /v1/alerts`: a monitoring alert started firing for an AI system."""

    signal: Slug
    """What fired (`drift`, `safety`, `prompt_injection`, `performance`, ...)."""
    severity: AlertSeverity
    summary: Summary
    labels: Labels = Field(default_factory=dict)
    """Routing labels; the routing tree matches on them."""
    value: float | None = None
    """Observed value of the monitored quantity."""
    threshold: float | None = None
    """Threshold the value crossed."""
    source_url: WebUrl | None = None
    """Dashboard or runbook showing the signal."""
    version: ReleaseVersion | None = None
    """Release the alert is about, when known."""
    alert_id: Identifier | None = None
    """Id of this firing; intake issues one when absent."""
    fingerprint: Identifier | None = None
    """Identity of the alert series; by default a hash of system, signal and labels."""
    starts_at: Timestamp | None = None
    """When it started firing; defaults to when intake received it."""
    ends_at: Timestamp | None = None
    """When it auto-resolves unless re-sent, if known."""

    def to_payload(self, *, alert_id: str, fingerprint: str, now: datetime) -> AlertRaised:
        """The `alert.raised` event with intake's defaults for id, fingerprint and start."""
        return build_payload(
            AlertRaised,
            {
                "system_id": self.system,
                "alert_id": alert_id,
                "fingerprint": fingerprint,
                "version": self.version,
                "signal": self.signal,
                "severity": self.severity,
                "summary": self.summary,
                "labels": self.labels,
                "value": self.value,
                "threshold": self.threshold,
                "source_url": self.source_url,
                "starts_at": self.starts_at or now,
                "ends_at": self.ends_at,
            },
        )


class IncidentRequest(SystemRequest):
    """`POST /v1/incidents`: an incident involving an AI system was reported."""

    severity: IncidentSeverity
    """Selects the acknowledge/resolve SLAs."""
    category: Slug
    """`safety`, `privacy`, `security`, `fairness`, `performance`, `availability`, `legal`, ..."""
    summary: Summary
    reported_by: Name
    """Who or what reported it, as told (the authenticated caller is the event's actor)."""
    serious: bool
    """A serious incident under EU AI Act Art. 3(49), reportable under Art. 73."""
    occurred_at: Timestamp
    version: ReleaseVersion | None = None
    """Release in service when it happened, when known."""
    alert_ids: Annotated[list[Identifier], Field(max_length=50)] = Field(default_factory=list)
    """Alerts that led to the incident."""

    def to_payload(self, *, incident_id: str) -> IncidentReported:
        """The `incident.reported` event under the id intake issued."""
        return build_payload(
            IncidentReported,
            {
                "system_id": self.system,
                "incident_id": incident_id,
                "version": self.version,
                "severity": self.severity,
                "category": self.category,
                "summary": self.summary,
                "reported_by": self.reported_by,
                "serious": self.serious,
                "occurred_at": self.occurred_at,
                "alert_ids": self.alert_ids,
            },
        )


class IncidentAcknowledgeRequest(RequestBody):
    """`POST /v1/incidents/{incident_id}/acknowledge`: an optional note (the body may be empty)."""

    note: Text | None = None
    """What the responder is doing first."""

    def to_payload(self, *, system_id: str, incident_id: str) -> IncidentAcknowledged:
        """The `incident.acknowledged` event; the acknowledger is the event's actor."""
        return build_payload(
            IncidentAcknowledged,
            {"system_id": system_id, "incident_id": incident_id, "note": self.note},
        )


class IncidentContainRequest(RequestBody):
    """`POST /v1/incidents/{incident_id}/contain`: what was done to stop the harm spreading."""

    note: Text

    def to_payload(self, *, system_id: str, incident_id: str) -> IncidentContained:
        """The `incident.contained` event."""
        return build_payload(
            IncidentContained,
            {"system_id": system_id, "incident_id": incident_id, "note": self.note},
        )


class IncidentResolveRequest(RequestBody):
    """`POST /v1/incidents/{incident_id}/resolve`: how it was resolved, and why it happened."""

    resolution: Text
    root_cause: Text | None = None

    def to_payload(self, *, system_id: str, incident_id: str) -> IncidentResolved:
        """The `incident.resolved` event."""
        return build_payload(
            IncidentResolved,
            {
                "system_id": system_id,
                "incident_id": incident_id,
                "resolution": self.resolution,
                "root_cause": self.root_cause,
            },
        )


# --- responses --------------------------------------------------------------------------------


class EventAccepted(BaseModel):
    """The event a typed request became (202 once the broker acknowledged it)."""

    event_id: str = Field(description="CloudEvents id (the Idempotency-Key, when one was sent).")
    event_type: str = Field(description="CloudEvents type, e.g. io.aigov.evaluation.completed.v1.")
    system_id: str = Field(description="The AI system the event is about (its Kafka key).")
    duplicate: bool = Field(
        default=False,
        description="True when this Idempotency-Key was already accepted here: nothing was "
        "published again.",
    )
    source: str = Field(
        description="CloudEvents source of the event: with `event_id`, what identifies it "
        "(evidence's `GET /v1/events/{event_id}?source=`)."
    )


class WaiverAccepted(EventAccepted):
    """A waiver request or decision was accepted."""

    waiver_id: str = Field(description="The waiver's id, for `/v1/waivers/{waiver_id}/...`.")
    status: str = Field(description="`requested`, `granted` or `rejected`.")


class IncidentAccepted(EventAccepted):
    """An incident report or status change was accepted."""

    incident_id: str = Field(
        description="The incident's id, for `/v1/incidents/{incident_id}/...`."
    )
    status: str = Field(description="`reported`, `acknowledged`, `contained` or `resolved`.")


class AlertAccepted(EventAccepted):
    """An alert was accepted."""

    alert_id: str = Field(description="Id of this firing (issued by intake when absent).")
    fingerprint: str = Field(description="Identity of the alert series the router dedups on.")


class SystemAccepted(BaseModel):
    """The outcome of submitting a manifest: a new revision (202) or no change (200)."""

    system_id: str
    revision: int = Field(description="The system's current manifest revision after this request.")
    manifest_sha256: str = Field(description="Content hash of the submitted manifest.")
    changed: bool = Field(description="False when the manifest equals the current revision.")
    event_id: str | None = Field(
        default=None, description="Id of the system.registered/updated event, if one was sent."
    )
    event_type: str | None = Field(default=None, description="Its CloudEvents type.")
    previous_manifest_sha256: str | None = Field(
        default=None, description="Hash of the revision this one replaces (updates only)."
    )
    duplicate: bool = Field(
        default=False,
        description="True when this Idempotency-Key was already accepted here: nothing was "
        "published again.",
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="Fields this version of the manifest format does not define: kept in the "
        "manifest, but check them for typos.",
    )
    source: str | None = Field(
        default=None,
        description="CloudEvents source of the event, if one was sent (with `event_id`, what "
        "identifies it).",
    )


class IncidentOut(BaseModel):
    """An incident intake knows: reported through it, or opened from an alert by the router.

    Incidents recorded before intake kept these details have `null` severity, category,
    summary, serious, version and times.
    """

    incident_id: str = Field(description="For `/v1/incidents/{incident_id}/acknowledge` etc.")
    system_id: str
    status: str = Field(description="`reported`, `acknowledged`, `contained` or `resolved`.")
    severity: str | None = Field(description="`critical`, `high`, `medium` or `low`.")
    category: str | None = Field(description="`safety`, `privacy`, `security`, ...")
    summary: str | None
    serious: bool | None = Field(description="An EU AI Act serious incident (Art. 3(49)).")
    opened_by: str | None = Field(
        description="`report`: reported through intake; `alert`: opened from an alert by the "
        "monitoring router."
    )
    reported_by: str = Field(
        description="The principal who reported it through intake, or the monitoring route "
        "that opened it."
    )
    version: str | None = Field(description="Release in service when it happened, when known.")
    reported_at: datetime | None = Field(description="When aigov learned of it.")
    updated_at: datetime | None = Field(description="When its status last changed.")


class IncidentList(BaseModel):
    """`GET /v1/incidents`: the matching incidents, newest report first."""

    incidents: list[IncidentOut]
