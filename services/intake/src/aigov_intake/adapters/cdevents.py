"""CDEvents 0.4 and 0.5 (continuous-delivery events), mapped to deployment, incident and
evaluation events.

A CDEvent arrives as a CloudEvent over HTTP: binary mode (`ce-*` headers, the body is the
CDEvent), structured mode (`application/cloudevents+json`, the CDEvent is `data`), or as a
bare CDEvent (`application/json`; it carries its own id, source and type in `context`).
0.5 names its spec version `context.specversion`, 0.4 `context.version`.

| CDEvents type                          | aigov                                                  |
|----------------------------------------|--------------------------------------------------------|
| service.deployed, service.upgraded     | deployment.completed (outcome succeeded)               |
| service.rolledback                     | deployment.completed of the release now serving, plus  |
|                                        | deployment.rolled_back when `customData.ai_rollback_from` names the release replaced |
| incident.detected, incident.reported   | incident.reported (incident id = `subject.id`)         |
| incident.resolved                      | incident.resolved                                      |
| testsuiterun.finished, testcaserun.finished | evaluation.completed when `customData` carries `metrics` and `datasets`; else ignored |
| service.removed                        | ignored: a service leaving an environment is not the AI system retiring |
| artifact.published, artifact.signed    | ignored: build outputs, not governance documents (artifact.submitted needs the document's SHA-256) |
| pipelinerun.finished, change.merged, any other type | ignored: no aigov counterpart; the deployments they lead to are what counts |

aigov reads its own keys from the CDEvent's `customData` (a JSON object): `ai_system` (else
the webhook URL's `?system=`), `ai_release` (else the version in `subject.content.artifactId`,
a purl: its `tag` qualifier, else its version; a digest `sha256:<hex>` becomes
`sha256-<hex>`), `ai_region` (else `?region=`), `ai_rollback_from`; for incidents `severity`,
`category`, `serious`, `reportedBy`, `resolution`, `rootCause`; for test runs `suite`,
`metrics` and `datasets` in the catalog's shape. The environment is never read as a system
id: one environment hosts many systems.

The aigov event keeps the CDEvent's identity: CloudEvents `source` = `context.source` and
`id` = `context.id` (ids are unique per source in CDEvents), so a redelivery is a duplicate.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final
from urllib.parse import parse_qs, unquote

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from aigov_events.catalog import (
    DeploymentCompleted,
    DeploymentOutcome,
    DeploymentRolledBack,
    EvaluationCompleted,
    IncidentReported,
    IncidentResolved,
    IncidentSeverity,
)
from aigov_events.envelope import STRUCTURED_CONTENT_TYPE, from_mapping
from aigov_events.errors import InvalidEnvelope
from aigov_intake.adapters import (
    RELEASE_KEY,
    SYSTEM_KEY,
    AwareTimestamp,
    Draft,
    Loc,
    Outcome,
    PayloadRejected,
    build,
    clip,
    field_error,
    ignored,
    parse,
    slugify,
    stable_id,
)

REGION_KEY: Final = "ai_region"
LOOKED_IN: Final = f"`customData.{SYSTEM_KEY}` in the CDEvent"
SUPPORTED_SPEC_VERSIONS: Final = ("0.4", "0.5")
CDEVENTS_CONTENT_TYPE: Final = "application/cdevents+json"

_TYPE: Final = re.compile(
    r"^dev\.cdevents\.(?P<subject>[a-z]+)\.(?P<predicate>[a-z]+)\."
    r"(?P<version>\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$"
)
_SPEC_VERSION: Final = re.compile(r"^(?P<minor>\d+\.\d+)\.\d+(?:-[0-9A-Za-z.-]+)?$")
_IDENTIFIER: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,127}$")
_RELEASE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
_DIGEST: Final = re.compile(r"^(?P<algorithm>[a-z0-9]+):(?P<hex>[0-9a-fA-F]{32,128})$")

_INCIDENT_SEVERITY_SPELLINGS: Final[Mapping[IncidentSeverity, tuple[str, ...]]] = {
    IncidentSeverity.CRITICAL: ("critical", "sev1", "sev-1", "p1", "fatal", "emergency"),
    IncidentSeverity.HIGH: ("high", "sev2", "sev-2", "p2", "major", "severe", "error"),
    IncidentSeverity.MEDIUM: ("medium", "sev3", "sev-3", "p3", "moderate", "warning", "minor"),
    IncidentSeverity.LOW: ("low", "sev4", "sev-4", "p4", "sev5", "p5", "info"),
}
#: Incident severity words (customData.severity) mapped to the catalog's severities.
INCIDENT_SEVERITY_WORDS: Final[Mapping[str, IncidentSeverity]] = {
    word: severity for severity, words in _INCIDENT_SEVERITY_SPELLINGS.items() for word in words
}
#: An incident nobody triaged is treated as high until someone does: SLAs start, nothing
#: reportable is missed because it arrived without a severity.
DEFAULT_INCIDENT_SEVERITY: Final = IncidentSeverity.HIGH

#: Why each CDEvents type without an aigov counterpart is acknowledged but not published.
IGNORED_TYPES: Final[Mapping[str, str]] = {
    "service.removed": "a service leaving an environment is not the AI system retiring; "
    "retire systems with io.aigov.system.retired.v1",
    "artifact.published": "a build output is not a governance document; attach model cards and "
    "assessments with io.aigov.artifact.submitted.v1 (it needs the document's SHA-256)",
    "artifact.signed": "a signed build output is not a governance document; attach documents "
    "with io.aigov.artifact.submitted.v1",
    "pipelinerun.finished": "a pipeline run is not a governance event; the deployments and "
    "evaluations it performs are",
    "change.merged": "a source change is not a governance event; manifest changes arrive as "
    "io.aigov.system.updated.v1",
}


# --- the public format --------------------------------------------------------------------------


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Context(_Lenient):
    """The CDEvent's context: its identity, type and spec version."""

    specversion: str | None = None
    """CDEvents spec version (0.5 and later)."""
    version: str | None = None
    """CDEvents spec version (0.4 and 0.5 drafts)."""
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str
    timestamp: AwareTimestamp
    chain_id: str | None = Field(default=None, alias="chainId")

    @field_validator("type")
    @classmethod
    def _is_cdevents_type(cls, value: str) -> str:
        if not value.startswith(("dev.cdevents.", "dev.cdeventsx.")):
            raise ValueError(
                f"{value!r} is not a CDEvents type (dev.cdevents.<subject>.<predicate>.<version>)"
            )
        return value

    @property
    def spec_version(self) -> str | None:
        """The spec version, whichever field carries it."""
        return self.specversion or self.version


class Reference(_Lenient):
    """A CDEvents reference to another subject (an environment, a service)."""

    id: str = Field(min_length=1)
    source: str | None = None


class Subject(_Lenient):
    """The CDEvent's subject: what it is about, with type-specific content."""

    id: str = Field(min_length=1)
    source: str | None = None
    type: str | None = None
    content: dict[str, Any] = Field(default_factory=dict)


class CDEvent(_Lenient):
    """A CDEvent (0.4 or 0.5)."""

    context: Context
    subject: Subject
    custom_data: Any = Field(default=None, alias="customData")
    custom_data_content_type: str | None = Field(default=None, alias="customDataContentType")


class ServiceContent(_Lenient):
    """`subject.content` of service events."""

    environment: Reference
    artifact_id: str | None = Field(default=None, alias="artifactId")


class IncidentContent(_Lenient):
    """`subject.content` of incident events."""

    description: str | None = None
    environment: Reference | None = None
    service: Reference | None = None
    artifact_id: str | None = Field(default=None, alias="artifactId")
    ticket_uri: str | None = Field(default=None, alias="ticketURI")


class TestRunContent(_Lenient):
    """`subject.content` of testsuiterun / testcaserun events."""

    outcome: str | None = None
    reason: str | None = None
    test_suite: dict[str, Any] | None = Field(default=None, alias="testSuite")
    test_case: dict[str, Any] | None = Field(default=None, alias="testCase")


class AigovCustomData(_Lenient):
    """The keys aigov reads from `customData` (everything else there is the sender's)."""

    ai_system: str | None = None
    ai_release: str | None = None
    ai_region: str | None = None
    ai_rollback_from: str | None = None
    severity: str | None = None
    category: str | None = None
    serious: bool | None = None
    reported_by: str | None = Field(
        default=None, validation_alias=AliasChoices("reportedBy", "reported_by")
    )
    resolution: str | None = None
    root_cause: str | None = Field(
        default=None, validation_alias=AliasChoices("rootCause", "root_cause")
    )
    suite: str | None = None
    metrics: list[Any] | None = None
    datasets: list[Any] | None = None


# --- reading the CloudEvents HTTP binding ----------------------------------------------------


@dataclass(frozen=True)
class Received:
    """The CDEvent of a request and where it sits in it (for error locations)."""

    cdevent: CDEvent
    loc: Loc

    @property
    def kind(self) -> str:
        """`<subject>.<predicate>` of the CDEvents type (`service.deployed`), or the custom type."""
        match = _TYPE.match(self.cdevent.context.type)
        return f"{match['subject']}.{match['predicate']}" if match else self.cdevent.context.type

    @cached_property
    def custom(self) -> AigovCustomData:
        """aigov's keys in customData (empty when customData is not a JSON object)."""
        data = self.cdevent.custom_data
        if not isinstance(data, dict):
            return AigovCustomData()
        return parse(AigovCustomData, data, loc=(*self.loc, "customData"), what="customData")


def receive(media_type: str, headers: Mapping[str, str], body: Any) -> Received:
    """The CDEvent of a request in binary, structured or bare mode (`headers` lower-case)."""
    if media_type == STRUCTURED_CONTENT_TYPE:
        return _structured(body)
    received = _cdevent(body, loc=("body",))
    if "ce-specversion" in headers:
        _check_binary_headers(headers, received.cdevent)
    return received


def _structured(body: Any) -> Received:
    if not isinstance(body, dict):
        raise PayloadRejected(
            "a structured-mode CloudEvent must be a JSON object",
            [field_error(["body"], "expected a JSON object", "invalid_envelope")],
        )
    try:
        envelope = from_mapping(body)
    except InvalidEnvelope as exc:
        raise PayloadRejected(
            "not a valid CloudEvent", [field_error(["body"], str(exc), "invalid_envelope")]
        ) from None
    if envelope.data_base64 is not None:
        try:
            data: Any = json.loads(base64.b64decode(envelope.data_base64, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise PayloadRejected(
                "data_base64 does not hold a JSON CDEvent",
                [field_error(["body", "data_base64"], str(exc), "invalid_data")],
            ) from None
        received = _cdevent(data, loc=("body", "data_base64"))
    else:
        received = _cdevent(envelope.data, loc=("body", "data"))
    _check_same_event(
        envelope.id,
        envelope.type,
        received.cdevent,
        loc_id=("body", "id"),
        loc_type=("body", "type"),
    )
    return received


def _check_binary_headers(headers: Mapping[str, str], cdevent: CDEvent) -> None:
    if headers.get("ce-specversion") != "1.0":
        raise PayloadRejected(
            "unsupported CloudEvents version",
            [field_error(["header", "ce-specversion"], "must be 1.0", "invalid_envelope")],
        )
    _check_same_event(
        headers.get("ce-id"),
        headers.get("ce-type"),
        cdevent,
        loc_id=("header", "ce-id"),
        loc_type=("header", "ce-type"),
    )


def _check_same_event(
    ce_id: str | None, ce_type: str | None, cdevent: CDEvent, *, loc_id: Loc, loc_type: Loc
) -> None:
    # The CDEvents binding copies context.id and context.type into the CloudEvent; if they
    # differ, which one is meant is unknowable.
    errors = []
    if ce_id is not None and ce_id != cdevent.context.id:
        errors.append(
            field_error(loc_id, f"differs from the CDEvent's context.id {cdevent.context.id!r}")
        )
    if ce_type is not None and ce_type != cdevent.context.type:
        errors.append(
            field_error(
                loc_type, f"differs from the CDEvent's context.type {cdevent.context.type!r}"
            )
        )
    if errors:
        raise PayloadRejected("the CloudEvent and the CDEvent it carries disagree", errors)


def _cdevent(data: Any, *, loc: Loc) -> Received:
    cdevent = parse(CDEvent, data, loc=loc, what="CDEvent")
    version = cdevent.context.spec_version
    match = _SPEC_VERSION.match(version or "")
    if match is None or match["minor"] not in SUPPORTED_SPEC_VERSIONS:
        raise PayloadRejected(
            "unsupported CDEvents spec version",
            [
                field_error(
                    [*loc, "context", "specversion" if cdevent.context.specversion else "version"],
                    f"{version!r}: supported are "
                    + ", ".join(f"{v}.x" for v in SUPPORTED_SPEC_VERSIONS)
                    + " (context.specversion from 0.5, context.version before)",
                    "unsupported_version",
                )
            ],
        )
    return Received(cdevent=cdevent, loc=loc)


# --- attribution and mapping ----------------------------------------------------------------


def is_mapped(received: Received) -> bool:
    """Whether the CDEvent's type can become aigov events (else it is acknowledged and ignored)."""
    return received.kind in _MAPPERS and not (
        received.kind in _EVALUATIONS and not _has_evaluation(received.custom)
    )


def ignore(received: Received) -> Outcome:
    """The acknowledgement of a CDEvent that has no aigov counterpart, with the reason."""
    kind = received.kind
    if kind in _EVALUATIONS:
        reason = (
            "a test run without results: add `metrics` and `datasets` (and `ai_release`) to "
            "customData to record it as io.aigov.evaluation.completed.v1"
        )
    else:
        reason = IGNORED_TYPES.get(kind, "no aigov counterpart for this CDEvents type")
    return ignored(received.cdevent.context.type, reason)


def named_systems(received: Received) -> list[str | None]:
    """The AI system the CDEvent names in `customData.ai_system`."""
    return [received.custom.ai_system]


def to_outcome(received: Received, *, system_id: str, region: str | None = None) -> Outcome:
    """The aigov events of a mapped CDEvent; `region` comes from the webhook URL (`?region=`)."""
    return _MAPPERS[received.kind](received, system_id, region)


def _deployment(received: Received, system_id: str, region: str | None) -> Outcome:
    event, custom, loc = received.cdevent, received.custom, received.loc
    content = parse(
        ServiceContent,
        event.subject.content,
        loc=(*loc, "subject", "content"),
        what="service content",
    )
    release = _release(custom, content.artifact_id)
    if release is None:
        raise PayloadRejected(
            "cannot tell which release was deployed",
            [
                field_error(
                    [*loc, "customData", RELEASE_KEY],
                    f"set customData.{RELEASE_KEY}, or subject.content.artifactId to a purl with a version",
                    "missing",
                )
            ],
        )
    region = custom.ai_region or region
    if region is None:
        raise PayloadRejected(
            "cannot tell which region this deployment is in",
            [
                field_error(
                    [*loc, "customData", REGION_KEY],
                    f"set customData.{REGION_KEY}, or add ?region=<region> to the webhook URL",
                    "missing",
                )
            ],
        )
    environment = slugify(content.environment.id)
    if environment is None:
        raise PayloadRejected(
            "the environment id has no usable name",
            [field_error([*loc, "subject", "content", "environment", "id"], "needs letters")],
        )
    pipeline = {"id": event.context.chain_id} if _is_identifier(event.context.chain_id) else None
    rolled_back = received.kind == "service.rolledback"
    detail = (
        f"{event.context.type} from {event.context.source}: service {event.subject.id}"
        + (f", artifact {content.artifact_id}" if content.artifact_id else "")
        + (" (a rollback)" if rolled_back else "")
    )
    drafts = [
        _draft(
            received,
            build(
                DeploymentCompleted,
                loc=loc,
                system_id=system_id,
                version=release,
                environment=environment,
                region=region,
                pipeline=pipeline,
                outcome=DeploymentOutcome.SUCCEEDED,
                detail=clip(detail, 4000),
            ),
        )
    ]
    if rolled_back and custom.ai_rollback_from:
        rollback = build(
            DeploymentRolledBack,
            loc=loc,
            system_id=system_id,
            from_version=custom.ai_rollback_from,
            to_version=release,
            environment=environment,
            region=region,
            reason=clip(
                f"rolled back to {release} ({event.context.type} from {event.context.source})", 4000
            ),
            pipeline=pipeline,
        )
        drafts.append(_draft(received, rollback, suffix="rolled_back"))
    return Outcome(drafts=drafts)


def _incident_reported(received: Received, system_id: str, region: str | None) -> Outcome:
    event, custom, loc = received.cdevent, received.custom, received.loc
    content = parse(
        IncidentContent,
        event.subject.content,
        loc=(*loc, "subject", "content"),
        what="incident content",
    )
    release = _release(custom, content.artifact_id)
    summary = content.description or f"Incident {event.subject.id} ({received.kind})"
    payload = build(
        IncidentReported,
        loc=loc,
        system_id=system_id,
        incident_id=incident_id(event.subject.id),
        version=release if release and _RELEASE.match(release) else None,
        severity=incident_severity(custom.severity),
        category=slugify(custom.category) or "other",
        summary=clip(summary, 1000),
        reported_by=clip(custom.reported_by or event.context.source, 200),
        serious=bool(custom.serious),
        occurred_at=event.context.timestamp,
    )
    return Outcome(drafts=[_draft(received, payload)])


def _incident_resolved(received: Received, system_id: str, region: str | None) -> Outcome:
    event, custom, loc = received.cdevent, received.custom, received.loc
    content = parse(
        IncidentContent,
        event.subject.content,
        loc=(*loc, "subject", "content"),
        what="incident content",
    )
    resolution = custom.resolution or content.description or f"Resolved ({event.context.source})"
    payload = build(
        IncidentResolved,
        loc=loc,
        system_id=system_id,
        incident_id=incident_id(event.subject.id),
        resolution=clip(resolution, 4000),
        root_cause=clip(custom.root_cause, 4000) if custom.root_cause else None,
    )
    return Outcome(drafts=[_draft(received, payload)])


def _evaluation(received: Received, system_id: str, region: str | None) -> Outcome:
    event, custom, loc = received.cdevent, received.custom, received.loc
    content = parse(
        TestRunContent,
        event.subject.content,
        loc=(*loc, "subject", "content"),
        what="test run content",
    )
    if not custom.ai_release:
        raise PayloadRejected(
            "an evaluation is about one release",
            [field_error([*loc, "customData", RELEASE_KEY], "required with metrics", "missing")],
        )
    tested = content.test_suite or content.test_case or {}
    suite = custom.suite or tested.get("name") or tested.get("id") or received.kind
    payload = build(
        EvaluationCompleted,
        loc=(*loc, "customData"),
        system_id=system_id,
        version=custom.ai_release,
        suite=clip(str(suite), 200),
        metrics=custom.metrics,
        datasets=custom.datasets,
        run={"id": incident_id(event.subject.id)},
    )
    return Outcome(drafts=[_draft(received, payload)])


def _draft(received: Received, payload: Any, *, suffix: str | None = None) -> Draft:
    context = received.cdevent.context
    event_id = context.id if suffix is None else f"{context.id}:{suffix}"
    return Draft(payload=payload, event_id=event_id, source=context.source, time=context.timestamp)


_EVALUATIONS: Final = frozenset({"testsuiterun.finished", "testcaserun.finished"})
_MAPPERS: Final = {
    "service.deployed": _deployment,
    "service.upgraded": _deployment,
    "service.rolledback": _deployment,
    "incident.detected": _incident_reported,
    "incident.reported": _incident_reported,
    "incident.resolved": _incident_resolved,
    "testsuiterun.finished": _evaluation,
    "testcaserun.finished": _evaluation,
}


def _has_evaluation(custom: AigovCustomData) -> bool:
    return bool(custom.metrics) and bool(custom.datasets)


# --- values -----------------------------------------------------------------------------------


def incident_severity(word: str | None) -> IncidentSeverity:
    """The catalog severity of an incident's `severity` word (`DEFAULT_INCIDENT_SEVERITY` if unknown)."""
    if word is None:
        return DEFAULT_INCIDENT_SEVERITY
    return INCIDENT_SEVERITY_WORDS.get(word.strip().lower(), DEFAULT_INCIDENT_SEVERITY)


def incident_id(subject_id: str) -> str:
    """A catalog identifier for a CDEvents subject id (paths lose their leading slash; others are hashed)."""
    trimmed = subject_id.strip().lstrip("/")
    if _IDENTIFIER.match(trimmed):
        return trimmed
    return f"cdevents-{stable_id(subject_id)}"


def purl_release(artifact_id: str | None) -> str | None:
    """The release a package URL names: its `tag` qualifier, else its version (digests as `sha256-<hex>`)."""
    if not artifact_id or not artifact_id.startswith("pkg:"):
        return None
    rest = artifact_id.split("#", 1)[0]
    rest, _, qualifiers = rest.partition("?")
    tags = parse_qs(qualifiers).get("tag", [])
    if tags and tags[0] != "latest" and _RELEASE.match(tags[0]):
        return tags[0]
    _, at, version = rest.rpartition("@")
    if not at:
        return None
    version = unquote(version)
    digest = _DIGEST.match(version)
    if digest:
        # An image digest is a release identity too; `alg-hex` is how registries spell it as a tag.
        return f"{digest['algorithm']}-{digest['hex'].lower()}"
    return version if _RELEASE.match(version) else None


def _release(custom: AigovCustomData, artifact_id: str | None) -> str | None:
    return custom.ai_release or purl_release(artifact_id)


def _is_identifier(value: str | None) -> bool:
    return value is not None and _IDENTIFIER.match(value) is not None
