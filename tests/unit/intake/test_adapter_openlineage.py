"""OpenLineage run, job and dataset events mapped to lineage evidence (pure mapping, no I/O)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aigov_events.catalog import LineageRecorded, LineageRunState
from aigov_intake.adapters import PayloadRejected, openlineage
from aigov_intake.adapters.openlineage import (
    SOURCE,
    DatasetEvent,
    JobEvent,
    RunEvent,
    facet_summaries,
    receive,
    to_outcome,
)

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    """A hand-written payload from tests/unit/intake/fixtures."""
    return json.loads((FIXTURES / name).read_text())


def lineage(body: Any, system_id: str = "loan-scorer") -> LineageRecorded:
    """The one lineage record `body` maps to."""
    [draft] = to_outcome(receive(body), system_id=system_id).drafts
    assert isinstance(draft.payload, LineageRecorded)
    return draft.payload


class TestRunEvents:
    def test_training_run_datasets_become_lineage(self) -> None:
        record = lineage(fixture("openlineage_training_run_complete.json"))
        assert record.job.namespace == "credit-ml"
        assert record.run_id == "01956d1c-3a9f-7e21-b8c4-5d6e7f8091a2"
        assert record.run_state is LineageRunState.COMPLETE
        assert record.version == "3.2.0"  # the run's ai_release tag
        [source] = record.inputs
        assert source.name == "CREDIT.APPLICATIONS_2025"
        assert source.facets == {
            "schema": "3 fields",
            "version": "version v2025.12",
            "dataQualityAssertions": "1/2 passed",
        }
        [model] = record.outputs
        assert model.facets == {"outputStatistics": "rowCount=1, size=48213"}
        assert record.producer == "https://example.com/our-airflow"

    def test_the_system_comes_from_the_tags_facet(self) -> None:
        received = receive(fixture("openlineage_training_run_complete.json"))
        assert openlineage.named_systems(received) == ["loan-scorer"]

    def test_a_run_tag_is_a_candidate_too(self) -> None:
        body = fixture("openlineage_training_run_complete.json")
        body["run"]["facets"]["tags"]["tags"].append({"key": "ai_system", "value": "other-sys"})
        assert openlineage.named_systems(receive(body)) == ["loan-scorer", "other-sys"]

    def test_ids_are_stable_per_run_state_and_time(self) -> None:
        body = fixture("openlineage_training_run_complete.json")
        first = to_outcome(receive(body), system_id="loan-scorer").drafts[0]
        again = to_outcome(receive(body), system_id="loan-scorer").drafts[0]
        assert (first.event_id, first.source) == (again.event_id, SOURCE)
        body["eventType"] = "FAIL"
        failed = to_outcome(receive(body), system_id="loan-scorer").drafts[0]
        assert failed.event_id != first.event_id

    def test_the_same_instant_in_another_offset_is_the_same_event(self) -> None:
        body = fixture("openlineage_training_run_complete.json")
        first = to_outcome(receive(body), system_id="loan-scorer").drafts[0]
        body["eventTime"] = "2026-02-27T05:12:09.481+01:00"
        assert to_outcome(receive(body), system_id="loan-scorer").drafts[0].event_id == (
            first.event_id
        )

    def test_heartbeat_without_datasets_is_ignored(self) -> None:
        received = receive(fixture("openlineage_eventbridge_running.json"))
        assert isinstance(received.event, RunEvent)
        reason = openlineage.ignore_reason(received)
        assert reason is not None
        assert "RUNNING" in reason
        assert to_outcome(received, system_id="loan-scorer").drafts == []

    def test_missing_event_type_is_no_run_state(self) -> None:
        body = fixture("openlineage_training_run_complete.json")
        del body["eventType"]
        assert lineage(body).run_state is None


class TestOtherEvents:
    def test_job_event_is_static_lineage_with_an_aigov_run_id(self) -> None:
        received = receive(fixture("openlineage_job_event_naive_time.json"))
        assert isinstance(received.event, JobEvent)
        [draft] = to_outcome(received, system_id="loan-scorer").drafts
        record = draft.payload
        assert isinstance(record, LineageRecorded)
        assert record.run_state is None
        assert record.run_id == f"job-{draft.event_id}"
        assert [d.name for d in record.outputs] == ["loan-scorer/features.parquet"]

    def test_naive_event_time_is_read_as_utc(self) -> None:
        record = lineage(fixture("openlineage_job_event_naive_time.json"))
        assert record.event_time == datetime(2026, 2, 20, 9, 30, 0, 500000, tzinfo=UTC)

    def test_dataset_event_is_ignored(self) -> None:
        received = receive(fixture("openlineage_dataset_event.json"))
        assert isinstance(received.event, DatasetEvent)
        assert openlineage.named_systems(received) == []
        outcome = to_outcome(received, system_id="loan-scorer")
        assert outcome.drafts == []
        assert outcome.ignored[0].ref.startswith("DatasetEvent")

    def test_eventbridge_envelope_is_unwrapped(self) -> None:
        envelope = fixture("openlineage_eventbridge_running.json")
        envelope["detail"] = fixture("openlineage_training_run_complete.json")
        received = receive(envelope)
        assert received.loc == ("body", "detail")
        assert lineage(envelope).run_state is LineageRunState.COMPLETE


class TestRejections:
    def test_errors_inside_an_envelope_are_located_in_detail(self) -> None:
        envelope = fixture("openlineage_eventbridge_running.json")
        del envelope["detail"]["eventTime"]
        with pytest.raises(PayloadRejected) as caught:
            receive(envelope)
        assert caught.value.errors[0]["loc"] == ["body", "detail", "eventTime"]

    def test_something_else_is_not_an_openlineage_event(self) -> None:
        with pytest.raises(PayloadRejected, match="not an OpenLineage event"):
            receive({"hello": "world"})

    def test_unknown_event_type_is_refused(self) -> None:
        body = fixture("openlineage_training_run_complete.json")
        body["eventType"] = "DONE"
        with pytest.raises(PayloadRejected) as caught:
            receive(body)
        assert caught.value.errors[0]["loc"] == ["body", "eventType"]

    def test_a_producer_that_is_not_a_uri_is_refused_by_the_catalog(self) -> None:
        body = fixture("openlineage_training_run_complete.json")
        body["producer"] = "our airflow"
        with pytest.raises(PayloadRejected, match=r"lineage\.recorded") as caught:
            to_outcome(receive(body), system_id="loan-scorer")
        assert "producer" in caught.value.errors[0]["msg"]


class TestFacetSummaries:
    def test_unknown_facets_are_named_by_their_schema(self) -> None:
        summaries = facet_summaries(
            {
                "symlinks": {
                    "_schemaURL": "https://x/OpenLineage.json#/$defs/SymlinksDatasetFacet"
                },
                "lifecycle": {"_deleted": True},
                "custom facet!": {"a": 1},
                "plain": {"a": 1},
                "notAnObject": 3,
            }
        )
        assert summaries == {
            "symlinks": "SymlinksDatasetFacet",
            "lifecycle": "deleted",
            "plain": "reported",
        }

    def test_at_most_64_facets(self) -> None:
        assert len(facet_summaries({f"f{i}": {} for i in range(100)})) == 64
