"""OpenLineage run, job and dataset events, mapped to `lineage.recorded` evidence.

Lineage shows which datasets an AI system was trained and evaluated on: the inputs and
outputs of the jobs tagged with the system become `io.aigov.lineage.recorded.v1`.

| OpenLineage                                   | aigov                                         |
|-----------------------------------------------|-----------------------------------------------|
| RunEvent (START, COMPLETE, FAIL, ABORT, ...)  | lineage.recorded, run_state = eventType       |
| RunEvent RUNNING/OTHER without datasets       | ignored: a heartbeat, no lineage in it        |
| JobEvent (a job's declared inputs/outputs)    | lineage.recorded without run_state; run_id `job-<uuid>` (aigov-issued: a JobEvent has no run) |
| DatasetEvent (one dataset's metadata)         | ignored: no job links it to a system          |
| any of these inside an EventBridge envelope (`detail-type`, `detail`) | the same |

The AI system is named by a tag in the standard tags facet, on the run or on the job:
`run.facets.tags.tags[]` / `job.facets.tags.tags[]` entries `{"key": "ai_system", "value":
"<system id>"}` (Spark: `spark.openlineage.job.tags=ai_system:<id>`), else the webhook URL's
`?system=`. A tag `ai_release` names the release. Dataset facets are kept as one-line
summaries (`schema: "6 fields"`); the facets themselves stay with the lineage backend.

`eventTime` without an offset (older Python clients wrote naive times) is read as UTC:
the spec requires an offset, and UTC is the only reading that does not depend on the
clock of the machine running intake.

Event ids hash (runId, eventType, eventTime) (JobEvent: job namespace, name, eventTime), so
a transport's retry is a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from aigov_events.catalog import LineageRecorded
from aigov_intake.adapters import (
    RELEASE_KEY,
    SYSTEM_KEY,
    Draft,
    Loc,
    Outcome,
    PayloadRejected,
    UtcIfNaiveTimestamp,
    build,
    clip,
    field_error,
    ignored,
    parse,
    stable_id,
    utc_text,
)

SOURCE: Final = "urn:aigov:webhook:openlineage"
LOOKED_IN: Final = (
    f"a tag `{SYSTEM_KEY}` in the run's or the job's tags facet (facets.tags.tags[].key)"
)
_MAX_FACETS: Final = 64
_LABEL_KEY_CHARS: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-"
)

RunState = Literal["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]


# --- the public format ----------------------------------------------------------------------


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Job(_Lenient):
    """An OpenLineage job."""

    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    facets: dict[str, Any] = Field(default_factory=dict)


class Run(_Lenient):
    """An OpenLineage run."""

    run_id: str = Field(min_length=1, alias="runId")
    facets: dict[str, Any] = Field(default_factory=dict)


class Dataset(_Lenient):
    """An OpenLineage dataset (input or output of a run)."""

    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    facets: dict[str, Any] = Field(default_factory=dict)
    input_facets: dict[str, Any] = Field(default_factory=dict, alias="inputFacets")
    output_facets: dict[str, Any] = Field(default_factory=dict, alias="outputFacets")


class _Event(_Lenient):
    event_time: UtcIfNaiveTimestamp = Field(alias="eventTime")
    producer: str = Field(min_length=1)
    schema_url: str | None = Field(default=None, alias="schemaURL")


class RunEvent(_Event):
    """A run changed state (OpenLineage RunEvent)."""

    event_type: RunState | None = Field(default=None, alias="eventType")
    run: Run
    job: Job
    inputs: list[Dataset] = Field(default_factory=list)
    outputs: list[Dataset] = Field(default_factory=list)


class JobEvent(_Event):
    """A job's static lineage, without a run (OpenLineage JobEvent, spec 2-0-0)."""

    job: Job
    inputs: list[Dataset] = Field(default_factory=list)
    outputs: list[Dataset] = Field(default_factory=list)


class DatasetEvent(_Event):
    """A dataset's metadata, without a job or run (OpenLineage DatasetEvent, spec 2-0-0)."""

    dataset: Dataset


class EventBridgeEnvelope(_Lenient):
    """An AWS EventBridge event whose `detail` is the OpenLineage event."""

    version: str | None = None
    id: str | None = None
    detail_type: str = Field(alias="detail-type")
    source: str | None = None
    detail: dict[str, Any]


LineageEvent = RunEvent | JobEvent | DatasetEvent


@dataclass(frozen=True)
class Received:
    """The OpenLineage event of a request and where it sits in the body."""

    event: LineageEvent
    loc: Loc


def receive(body: Any) -> Received:
    """The OpenLineage event in `body`, unwrapping an EventBridge envelope."""
    loc: Loc = ("body",)
    if isinstance(body, dict) and "detail" in body and "detail-type" in body:
        body = parse(EventBridgeEnvelope, body, what="EventBridge event").detail
        loc = ("body", "detail")
    if not isinstance(body, dict):
        raise PayloadRejected(
            "an OpenLineage event is a JSON object",
            [field_error(list(loc), "expected a JSON object", "type_error")],
        )
    model: type[LineageEvent]
    if "run" in body:
        model = RunEvent
    elif "dataset" in body:
        model = DatasetEvent
    elif "job" in body:
        model = JobEvent
    else:
        raise PayloadRejected(
            "not an OpenLineage event",
            [
                field_error(
                    list(loc),
                    "expected `run` and `job` (RunEvent), `job` (JobEvent) or `dataset` (DatasetEvent)",
                    "missing",
                )
            ],
        )
    return Received(
        event=parse(model, body, loc=loc, what=f"OpenLineage {model.__name__}"), loc=loc
    )


# --- attribution and mapping ---------------------------------------------------------------


def tag_values(facets: Mapping[str, Any], key: str) -> list[str]:
    """Values of the tags facet entries with `key` (`facets.tags.tags[] = {key, value}`)."""
    tags = facets.get("tags")
    entries = tags.get("tags") if isinstance(tags, dict) else None
    if not isinstance(entries, list):
        return []
    return [
        entry["value"]
        for entry in entries
        if isinstance(entry, dict)
        and entry.get("key") == key
        and isinstance(entry.get("value"), str)
    ]


def named_systems(received: Received) -> list[str | None]:
    """Every `ai_system` tag of the run and the job (attribution needs them to agree)."""
    event = received.event
    if isinstance(event, DatasetEvent):
        return []
    facets = [event.job.facets] + ([event.run.facets] if isinstance(event, RunEvent) else [])
    return [value for f in facets for value in tag_values(f, SYSTEM_KEY)]


def ignore_reason(received: Received) -> str | None:
    """Why this event is acknowledged without publishing anything, or None when it maps."""
    event = received.event
    if isinstance(event, DatasetEvent):
        return "a DatasetEvent describes one dataset; no job links it to an AI system"
    if (
        isinstance(event, RunEvent)
        and event.event_type in ("RUNNING", "OTHER")
        and not (event.inputs or event.outputs)
    ):
        return f"a {event.event_type} run event without datasets carries no lineage"
    return None


def describe(received: Received) -> str:
    """The event in a few words, for the `ignored` list of the answer."""
    event = received.event
    if isinstance(event, DatasetEvent):
        return f"DatasetEvent {event.dataset.namespace}/{event.dataset.name}"
    if isinstance(event, RunEvent):
        return f"RunEvent {event.event_type or ''} {event.run.run_id}".replace("  ", " ")
    return f"JobEvent {event.job.namespace}/{event.job.name}"


def to_outcome(received: Received, *, system_id: str) -> Outcome:
    """The lineage record of a run or job event, for `system_id`."""
    event = received.event
    reason = ignore_reason(received)
    if reason is not None or isinstance(event, DatasetEvent):
        return ignored(describe(received), reason or "not lineage")
    if isinstance(event, RunEvent):
        run_id, run_state = event.run.run_id, event.event_type
        parts: tuple[str, ...] = ("run", run_id, run_state or "", utc_text(event.event_time))
        releases = tag_values(event.run.facets, RELEASE_KEY) + tag_values(
            event.job.facets, RELEASE_KEY
        )
    else:
        parts = ("job", event.job.namespace, event.job.name, utc_text(event.event_time))
        run_id, run_state = f"job-{stable_id(*parts)}", None
        releases = tag_values(event.job.facets, RELEASE_KEY)
    payload = build(
        LineageRecorded,
        loc=received.loc,
        system_id=system_id,
        # The run's tag wins over the job's: a run is one execution of one release.
        version=releases[0] if releases else None,
        job={"namespace": event.job.namespace, "name": event.job.name},
        run_id=run_id,
        run_state=run_state,
        inputs=[_dataset(d, d.input_facets) for d in event.inputs],
        outputs=[_dataset(d, d.output_facets) for d in event.outputs],
        event_time=event.event_time,
        producer=event.producer,
    )
    return Outcome(
        drafts=[
            Draft(payload=payload, event_id=stable_id(*parts), source=SOURCE, time=event.event_time)
        ]
    )


def _dataset(dataset: Dataset, io_facets: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "namespace": dataset.namespace,
        "name": dataset.name,
        "facets": facet_summaries({**dataset.facets, **io_facets}),
    }


def facet_summaries(facets: Mapping[str, Any]) -> dict[str, str]:
    """Each facet as a one-line summary (`schema` -> `6 fields`), at most 64 label-like names."""
    summaries: dict[str, str] = {}
    for name, facet in facets.items():
        if len(summaries) == _MAX_FACETS:
            break
        if (
            not name
            or not (name[0].isalpha() or name[0] == "_")
            or not set(name) <= _LABEL_KEY_CHARS
        ):
            continue
        if len(name) <= 128 and isinstance(facet, dict):
            summaries[name] = clip(_summary(name, facet), 1024)
    return summaries


def _summary(name: str, facet: Mapping[str, Any]) -> str:
    if facet.get("_deleted") is True:
        return "deleted"
    if name == "schema" and isinstance(facet.get("fields"), list):
        count = len(facet["fields"])
        return f"{count} field{'' if count == 1 else 's'}"
    if name == "dataQualityAssertions" and isinstance(facet.get("assertions"), list):
        assertions = [a for a in facet["assertions"] if isinstance(a, dict)]
        passed = sum(1 for a in assertions if a.get("success") is True)
        return f"{passed}/{len(assertions)} passed"
    if name == "dataSource":
        return str(facet.get("uri") or facet.get("name") or "data source")
    if name == "version" and facet.get("datasetVersion") is not None:
        return f"version {facet['datasetVersion']}"
    description = facet.get("description")
    if name == "documentation" and isinstance(description, str):
        return description
    numbers = _counts(facet, ("rowCount", "size", "fileCount"))
    if numbers:
        return numbers
    return _facet_type(facet) or "reported"


def _counts(facet: Mapping[str, Any], keys: Iterable[str]) -> str:
    return ", ".join(f"{k}={facet[k]}" for k in keys if isinstance(facet.get(k), int | float))


def _facet_type(facet: Mapping[str, Any]) -> str | None:
    # `_schemaURL` ends in the facet's type (`.../OpenLineage.json#/$defs/SymlinksDatasetFacet`).
    schema_url = facet.get("_schemaURL")
    if isinstance(schema_url, str) and "/" in schema_url:
        return schema_url.rsplit("/", 1)[-1] or None
    return None
