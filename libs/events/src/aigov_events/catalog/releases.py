"""Release evidence events (`aigov.lifecycle`): evaluations, artifacts, lineage, model versions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints, field_validator

from aigov_events.catalog.base import EventPayload, ReleasePayload, StrictModel
from aigov_events.catalog.enums import LineageRunState
from aigov_events.catalog.primitives import (
    Identifier,
    Labels,
    Name,
    ReleaseVersion,
    Sha256Hex,
    Slug,
    Timestamp,
    Uri,
    WebUrl,
)
from aigov_events.topics import LIFECYCLE

MetricName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$")]
GitCommit = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{7,64}$")]
SectionKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
SectionText = Annotated[str, StringConstraints(min_length=1, max_length=8000)]


class Metric(StrictModel):
    """One measured metric of an evaluation run."""

    name: MetricName
    """Metric name; the policy pack's evaluation minimums refer to it."""
    value: float
    threshold: float | None = None
    """The producer's own threshold, informational: the policy pack's minimums decide."""
    higher_is_better: bool
    passed: bool | None = None
    """The producer's own verdict against `threshold`, informational."""


class DatasetRef(StrictModel):
    """A versioned dataset an evaluation ran on."""

    id: Name
    version: Name
    uri: Uri | None = None


class RunRef(StrictModel):
    """The CI/ML run that produced an evaluation."""

    id: Identifier
    url: WebUrl | None = None
    commit: GitCommit | None = None
    """Source commit the run evaluated (abbreviated or full hex)."""


class EvaluationCompleted(ReleasePayload):
    """An evaluation suite finished for a release; its metrics are checked against the tier's minimums."""

    event_type = "io.aigov.evaluation.completed.v1"
    topic = LIFECYCLE
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "version": "2026.11.3",
        "suite": "release-evaluation",
        "metrics": [
            {"name": "groundedness", "value": 0.86, "higher_is_better": True},
            {"name": "toxicity_rate", "value": 0.002, "higher_is_better": False},
            {"name": "pii_leak_rate", "value": 0.0, "higher_is_better": False},
            {
                "name": "prompt_injection_success_rate",
                "value": 0.09,
                "threshold": 0.05,
                "higher_is_better": False,
                "passed": False,
            },
        ],
        "datasets": [
            {
                "id": "support-eval-set",
                "version": "7",
                "uri": "s3://ml-evals/support/7/eval.parquet",
            }
        ],
        "raw_outputs_uri": "s3://ml-evals/support/7/outputs.jsonl",
        "run": {
            "id": "8812",
            "url": "https://ci.example.com/support-ml/runs/8812",
            "commit": "9f2c1e7",
        },
    }

    suite: Name
    """Evaluation suite name (`release-evaluation`)."""
    metrics: Annotated[list[Metric], Field(min_length=1, max_length=500)]
    """Measured metrics; names are unique within one evaluation."""
    datasets: Annotated[list[DatasetRef], Field(min_length=1, max_length=50)]
    """Datasets evaluated on (the intake request's single `dataset` becomes a one-item list)."""
    raw_outputs_uri: Uri | None = None
    run: RunRef

    @field_validator("metrics")
    @classmethod
    def _unique_metric_names(cls, metrics: list[Metric]) -> list[Metric]:
        seen: set[str] = set()
        for metric in metrics:
            if metric.name in seen:
                # Two values for one metric would make the minimum check ambiguous.
                raise ValueError(f"metric {metric.name!r} appears more than once")
            seen.add(metric.name)
        return metrics


class ArtifactSubmitted(ReleasePayload):
    """A governance document (model card, data sheet, risk assessment, ...) was attached to a release."""

    event_type = "io.aigov.artifact.submitted.v1"
    topic = LIFECYCLE
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "support-summarizer",
        "version": "2026.11.3",
        "kind": "model_card",
        "title": "Support case summarizer — model card",
        "uri": "https://docs.example.com/ml/support-summarizer/model-card/2026.11.3",
        "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
        "sections": {
            "intended_use": "Summaries for support agents; not shown to end customers unreviewed.",
            "limitations": "May omit details from very long cases (over 40 pages).",
        },
    }

    kind: Slug
    """Artifact kind (see `KNOWN_ARTIFACT_KINDS`); controls such as `artifact.model_card` match on it."""
    title: Name
    uri: Uri
    """Where the document lives."""
    sha256: Sha256Hex
    """Hash of the document's bytes, so the evidence pins the exact version reviewed."""
    sections: Annotated[dict[SectionKey, SectionText], Field(max_length=64)] = Field(
        default_factory=dict
    )
    """Section name to section text, for completeness checks and audit packs."""


class LineageJob(StrictModel):
    """An OpenLineage job."""

    namespace: Name
    name: Name


class LineageDataset(StrictModel):
    """An OpenLineage input or output dataset."""

    namespace: Name
    name: Name
    facets: Labels = Field(default_factory=dict)
    """Facet name to a one-line summary (the facets themselves stay with the lineage backend)."""


class LineageRecorded(EventPayload):
    """A lineage run (OpenLineage) linked datasets to an AI system, e.g. a training job."""

    event_type = "io.aigov.lineage.recorded.v1"
    topic = LIFECYCLE
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "resume-screener",
        "version": "2026.2.0",
        "job": {"namespace": "talent-ml", "name": "train_ranker"},
        "run_id": "ea041791-68bc-4ae1-bd89-4c8106a157e4",
        "run_state": "COMPLETE",
        "inputs": [
            {
                "namespace": "postgres://hr-warehouse:5432",
                "name": "hiring.decisions_2025_q4",
                "facets": {"schema": "14 fields", "dataQualityAssertions": "2/2 passed"},
            }
        ],
        "outputs": [{"namespace": "s3://talent-models", "name": "ranker/2026.2.0"}],
        "event_time": "2026-02-03T10:15:00Z",
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.24.0/integration/airflow",
    }

    version: ReleaseVersion | None = None
    """Release the run produced or fed, when known."""
    job: LineageJob
    run_id: Identifier
    run_state: LineageRunState | None = None
    inputs: Annotated[list[LineageDataset], Field(max_length=200)] = Field(default_factory=list)
    outputs: Annotated[list[LineageDataset], Field(max_length=200)] = Field(default_factory=list)
    event_time: Timestamp
    """When the lineage event happened (OpenLineage `eventTime`)."""
    producer: Uri
    """URI of the integration that emitted the lineage (OpenLineage `producer`)."""


class ModelVersionRegistered(EventPayload):
    """A model version was registered in a model registry (MLflow, SageMaker, ...)."""

    event_type = "io.aigov.model_version.registered.v1"
    topic = LIFECYCLE
    example: ClassVar[Mapping[str, Any]] = {
        "system_id": "resume-screener",
        "version": "2026.2.0",
        "registry": "mlflow",
        "model_name": "resume-ranker",
        "model_version": "14",
        "source": "models:/m-5f3c2a",
        "run_id": "abcd1234abcd5678",
        "tags": {"stage": "candidate", "mlflow.user": "sam.osei"},
        "aliases": ["challenger"],
    }

    version: ReleaseVersion | None = None
    """Release this model version belongs to, when known (not the registry's version number)."""
    registry: Slug
    """Registry name (see `KNOWN_MODEL_REGISTRIES`)."""
    model_name: Name
    model_version: Name
    """Version as the registry numbers it (`14`)."""
    source: Uri | None = None
    run_id: Identifier | None = None
    tags: Labels = Field(default_factory=dict)
    aliases: Annotated[list[Slug], Field(max_length=32)] = Field(default_factory=list)
