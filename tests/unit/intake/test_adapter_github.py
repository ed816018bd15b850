"""GitHub deliveries -> deployment events: per event and state, attribution inputs, ids, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from aigov_events.catalog import (
    DeploymentCompleted,
    DeploymentOutcome,
    DeploymentRequested,
    DeploymentRolledBack,
)
from aigov_events.message import DomainEvent
from aigov_events.topics import LIFECYCLE
from aigov_intake.adapters import github as adapter

FIXTURES = Path(__file__).parent / "fixtures"
SYSTEM = "support-summarizer"
DIGEST = "0" * 64


def fixture(name: str) -> dict[str, Any]:
    """A hand-written GitHub delivery body from fixtures/."""
    loaded: dict[str, Any] = json.loads((FIXTURES / f"github_{name}.json").read_text())
    return loaded


def facts(event: str, body: dict[str, Any]) -> adapter.DeploymentFacts:
    """What a delivery says (fails the test if it is ignored)."""
    result = adapter.interpret(event, body)
    assert isinstance(result, adapter.DeploymentFacts), result
    return result


def events(
    event: str, body: dict[str, Any], *, region: str | None = None, digest: str = DIGEST
) -> list[DomainEvent[Any]]:
    """The catalog events a delivery maps to."""
    return adapter.to_events(
        facts(event, body),
        system_id=SYSTEM,
        region=region,
        body_digest=digest,
        actor="webhook:github",
    )


class TestDeploymentCreated:
    def test_maps_to_deployment_requested(self) -> None:
        [event] = events("deployment", fixture("deployment_created"))
        payload = event.payload
        assert isinstance(payload, DeploymentRequested)
        assert payload.system_id == SYSTEM
        assert payload.version == "2026.3.1"  # payload.ai_release, not the ref v2026.3.1
        assert payload.environment == "production-eu"  # "Production EU" as a slug
        assert payload.region == "EU"
        assert payload.pipeline is not None
        assert payload.pipeline.id == "880011"
        assert (
            payload.pipeline.url
            == "https://github.com/acme-ml/support-summarizer/actions/runs/551234"
        )

    def test_envelope(self) -> None:
        [event] = events("deployment", fixture("deployment_created"))
        assert event.topic == LIFECYCLE
        assert event.envelope.source == "https://github.com/acme-ml/support-summarizer"
        assert event.envelope.subject == SYSTEM
        assert event.actor == "webhook:github"
        assert event.time == datetime(2026, 3, 4, 12, 0, 5, tzinfo=UTC)

    def test_system_comes_from_the_deployment_payload(self) -> None:
        result = facts("deployment", fixture("deployment_created"))
        assert result.system_candidates == (SYSTEM,)
        assert "payload.ai_system" in result.looked_in

    def test_environment_is_not_a_system_candidate(self) -> None:
        body = fixture("deployment_created")
        body["deployment"]["payload"] = {}
        assert facts("deployment", body).system_candidates == (None,)

    def test_without_ai_release_the_ref_is_the_version(self) -> None:
        body = fixture("deployment_created")
        del body["deployment"]["payload"]["ai_release"]
        [event] = events("deployment", body)
        assert event.payload.version == "v2026.3.1"

    def test_a_ref_that_is_no_version_is_located(self) -> None:
        body = fixture("deployment_created")
        body["deployment"]["payload"] = {"ai_region": "EU"}
        body["deployment"]["ref"] = "feature/faster-summaries"
        with pytest.raises(adapter.MappingError) as caught:
            events("deployment", body)
        assert [e.loc for e in caught.value.errors] == [["body", "deployment", "ref"]]

    def test_region_from_the_url_when_the_payload_has_none(self) -> None:
        body = fixture("deployment_created")
        del body["deployment"]["payload"]["ai_region"]
        [event] = events("deployment", body, region="us-east-1")
        assert event.payload.region == "us-east-1"

    def test_the_payload_region_wins_over_the_url(self) -> None:
        [event] = events("deployment", fixture("deployment_created"), region="us-east-1")
        assert event.payload.region == "EU"

    def test_no_region_anywhere_is_located(self) -> None:
        body = fixture("deployment_created")
        del body["deployment"]["payload"]["ai_region"]
        with pytest.raises(adapter.MappingError) as caught:
            events("deployment", body)
        [error] = caught.value.errors
        assert error.loc == ["body", "deployment", "payload", "ai_region"]
        assert "?region=" in error.msg

    def test_a_bad_url_region_is_located_in_the_query(self) -> None:
        body = fixture("deployment_created")
        del body["deployment"]["payload"]["ai_region"]
        with pytest.raises(adapter.MappingError) as caught:
            events("deployment", body, region="x" * 201)
        assert [e.loc for e in caught.value.errors] == [["query", "region"]]

    def test_other_actions_are_ignored(self) -> None:
        body = {**fixture("deployment_created"), "action": "deleted"}
        assert isinstance(adapter.interpret("deployment", body), adapter.Ignored)

    def test_a_status_body_relabelled_as_a_deployment_is_refused(self) -> None:
        # X-GitHub-Event is outside the signature: the body must agree with it.
        with pytest.raises(ValidationError) as caught:
            adapter.interpret("deployment", fixture("deployment_status_success"))
        assert caught.value.errors()[0]["loc"] == ("deployment_status",)

    def test_missing_deployment_is_a_validation_error(self) -> None:
        with pytest.raises(ValidationError) as caught:
            adapter.interpret("deployment", {"action": "created"})
        assert caught.value.errors()[0]["loc"] == ("deployment",)


class TestDeploymentStatus:
    def test_success_completes_the_deployment(self) -> None:
        [event] = events("deployment_status", fixture("deployment_status_success"))
        payload = event.payload
        assert isinstance(payload, DeploymentCompleted)
        assert payload.outcome is DeploymentOutcome.SUCCEEDED
        assert (payload.version, payload.environment, payload.region) == (
            "2026.3.1",
            "production-eu",
            "EU",
        )
        assert payload.detail == "Rolled out to 12/12 pods"
        assert payload.pipeline is not None
        assert (
            payload.pipeline.url
            == "https://github.com/acme-ml/support-summarizer/actions/runs/551234/job/77"
        )
        assert event.time == datetime(2026, 3, 4, 12, 7, 41, tzinfo=UTC)

    def test_the_deployment_payload_may_be_a_json_string(self) -> None:
        # The success fixture carries its payload as a string, as the REST API allows.
        assert facts(
            "deployment_status", fixture("deployment_status_success")
        ).system_candidates == (SYSTEM,)

    def test_failure_completes_it_as_failed(self) -> None:
        [event] = events("deployment_status", fixture("deployment_status_failure"), region="EU")
        payload = event.payload
        assert isinstance(payload, DeploymentCompleted)
        assert payload.outcome is DeploymentOutcome.FAILED
        assert payload.version == "2026.3.1-rc.2"
        assert payload.detail == "Readiness probe failed on 3 pods"
        assert payload.pipeline is not None
        assert payload.pipeline.url == "https://deploy.acme.example/runs/313"

    def test_error_is_a_failure(self) -> None:
        body = fixture("deployment_status_failure")
        body["deployment_status"]["state"] = "error"
        [event] = events("deployment_status", body, region="EU")
        assert event.payload.outcome is DeploymentOutcome.FAILED

    @pytest.mark.parametrize("state", ["queued", "pending", "in_progress", "waiting", "inactive"])
    def test_states_that_are_not_final_are_ignored(self, state: str) -> None:
        body = fixture("deployment_status_success")
        body["deployment_status"]["state"] = state
        result = adapter.interpret("deployment_status", body)
        assert isinstance(result, adapter.Ignored)
        assert state in result.reason

    def test_a_successful_rollback_also_records_the_rollback(self) -> None:
        body = fixture("deployment_status_success")
        body["deployment"]["payload"] = {
            "ai_system": SYSTEM,
            "ai_release": "2026.2.4",
            "ai_region": "EU",
            "ai_rollback_from": "2026.3.1",
        }
        completed, rolled_back = events("deployment_status", body)
        assert isinstance(completed.payload, DeploymentCompleted)
        assert isinstance(rolled_back.payload, DeploymentRolledBack)
        assert (rolled_back.payload.from_version, rolled_back.payload.to_version) == (
            "2026.3.1",
            "2026.2.4",
        )
        assert rolled_back.payload.reason == "Release 2026.3.1 to the EU cluster"
        assert completed.id != rolled_back.id

    def test_a_failed_rollback_is_no_rollback(self) -> None:
        body = fixture("deployment_status_failure")
        body["deployment"]["payload"] = {"ai_rollback_from": "2026.3.1"}
        [event] = events("deployment_status", body, region="EU")
        assert isinstance(event.payload, DeploymentCompleted)

    def test_rollback_to_the_same_release_is_located(self) -> None:
        body = fixture("deployment_status_success")
        body["deployment"]["payload"] = {
            "ai_release": "2026.3.1",
            "ai_region": "EU",
            "ai_rollback_from": "2026.3.1",
        }
        with pytest.raises(adapter.MappingError) as caught:
            events("deployment_status", body)
        assert [e.loc for e in caught.value.errors] == [
            ["body", "deployment", "payload", "ai_release"]
        ]


class TestIgnored:
    @pytest.mark.parametrize(
        ("event", "name"),
        [("check_run", "check_run_completed"), ("workflow_run", "workflow_run_completed")],
    )
    def test_runs_carry_no_metrics(self, event: str, name: str) -> None:
        result = adapter.interpret(event, fixture(name))
        assert isinstance(result, adapter.Ignored)
        assert "/v1/events" in result.reason

    def test_unknown_events_are_ignored_by_name(self) -> None:
        result = adapter.interpret("push", {"ref": "refs/heads/main"})
        assert isinstance(result, adapter.Ignored)
        assert "'push'" in result.reason


class TestIds:
    def test_same_body_same_ids_whatever_the_delivery_header(self) -> None:
        first = events("deployment", fixture("deployment_created"), digest="a" * 64)
        again = events("deployment", fixture("deployment_created"), digest="a" * 64)
        other = events("deployment", fixture("deployment_created"), digest="b" * 64)
        assert first[0].id == again[0].id != other[0].id


class TestEnvironmentSlug:
    @pytest.mark.parametrize(
        ("name", "slug"),
        [
            ("production", "production"),
            ("Production EU", "production-eu"),
            ("prod/eu-west", "prod-eu-west"),
            ("github-pages", "github-pages"),
        ],
    )
    def test_names_become_slugs(self, name: str, slug: str) -> None:
        body = fixture("deployment_created")
        body["deployment"]["environment"] = name
        assert facts("deployment", body).environment == slug

    def test_a_name_that_cannot_be_a_slug_is_located(self) -> None:
        body = fixture("deployment_created")
        body["deployment"]["environment"] = "1st"
        with pytest.raises(adapter.MappingError) as caught:
            events("deployment", body)
        assert [e.loc for e in caught.value.errors] == [["body", "deployment", "environment"]]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=15,
)


class TestNeverCrashes:
    """Whatever arrives with a valid signature, the adapter answers or refuses."""

    @settings(max_examples=100)
    @given(
        event=st.sampled_from(["deployment", "deployment_status"]),
        state=st.sampled_from(["success", "failure", "error", "queued"]) | st.text(max_size=5),
        deployment=st.fixed_dictionaries(
            {
                "id": st.integers(min_value=1) | st.text(max_size=3),
                "sha": st.just("9f2c1e7") | JSON,
                "ref": st.sampled_from(["v1.2.0", "2026.3.1", "feature/x", ""])
                | st.text(max_size=30),
                "environment": st.sampled_from(["production", "Prod EU", "1st", ""])
                | st.text(max_size=30),
                "created_at": st.sampled_from(["2026-03-04T12:00:05Z", "yesterday"]),
            },
            optional={
                "payload": JSON
                | st.dictionaries(
                    st.sampled_from(["ai_system", "ai_release", "ai_region", "ai_rollback_from"]),
                    st.sampled_from(["EU", "2026.3.1", "2026.3.0"]) | st.text(max_size=30),
                ),
                "description": JSON,
            },
        ),
        region=st.none() | st.text(max_size=10),
    )
    def test_only_documented_errors(
        self, event: str, state: str, deployment: dict[str, Any], region: str | None
    ) -> None:
        body = {
            "action": "created",
            "deployment": deployment,
            "deployment_status": {"id": 1, "state": state, "created_at": "2026-03-04T12:00:05Z"},
        }
        try:
            result = adapter.interpret(event, body)
            if isinstance(result, adapter.DeploymentFacts):
                adapter.to_events(
                    result, system_id=SYSTEM, region=region, body_digest=DIGEST, actor="a"
                )
        except (ValidationError, adapter.MappingError):
            pass
