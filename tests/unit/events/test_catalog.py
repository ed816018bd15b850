"""The event catalog: registry, topics, examples, strict validation and field-naming errors."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from aigov_events.catalog import (
    CATALOG,
    EVENT_TYPE_PATTERN,
    MODELS,
    AISystemManifest,
    AlertRaised,
    ApprovalGranted,
    EvaluationCompleted,
    EventPayload,
    IncidentReported,
    SystemRegistered,
    SystemUpdated,
    Tier,
    TierAssigned,
    payload_model,
    topic_for,
    validate_payload,
)
from aigov_events.catalog.registry import ROOT
from aigov_events.errors import InvalidPayload, UnknownEventType
from aigov_events.topics import MAIN_TOPICS as TOPICS
from tests.fixtures import EXAMPLES

# The minimum catalog of the architecture brief, with the topic each type belongs on.
MINIMUM_CATALOG = {
    "aigov.lifecycle": [
        "system.registered",
        "system.updated",
        "system.retired",
        "evaluation.completed",
        "artifact.submitted",
        "lineage.recorded",
        "model_version.registered",
        "deployment.requested",
        "deployment.completed",
        "deployment.rolled_back",
        "approval.granted",
        "approval.denied",
        "approval.revoked",
        "waiver.requested",
        "waiver.granted",
        "waiver.rejected",
        "waiver.expired",
    ],
    "aigov.signals": [
        "alert.raised",
        "alert.resolved",
        "incident.reported",
        "incident.acknowledged",
        "incident.contained",
        "incident.resolved",
        "monitoring.probe.completed",
    ],
    "aigov.decisions": ["tier.assigned", "material_change.detected", "gate.decided"],
    "aigov.notifications": [
        "notification.sent",
        "notification.failed",
        "incident.escalated",
        "sla.breached",
    ],
}
EXPECTED_TOPICS = {
    f"io.aigov.{name}.v1": topic for topic, names in MINIMUM_CATALOG.items() for name in names
}


def _example(model: type[EventPayload], **changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(model.example))
    assert isinstance(data, dict)
    data.update(changes)
    return data


def _invalid(event_type: str, data: object) -> dict[str, str]:
    with pytest.raises(InvalidPayload) as exc:
        validate_payload(event_type, data)
    assert exc.value.event_type == event_type
    return dict(exc.value.errors)


class TestCatalogContents:
    def test_contains_the_minimum_catalog_on_the_right_topics(self) -> None:
        missing = EXPECTED_TOPICS.keys() - CATALOG.keys()
        assert not missing
        assert {t: topic_for(t) for t in EXPECTED_TOPICS} == EXPECTED_TOPICS

    @pytest.mark.parametrize("event_type", sorted(CATALOG))
    def test_type_strings_are_versioned_io_aigov_names(self, event_type: str) -> None:
        assert re.fullmatch(r"io\.aigov\.[a-z_]+(\.[a-z_]+)*\.v[0-9]+", event_type)
        assert re.fullmatch(EVENT_TYPE_PATTERN, event_type)

    def test_registry_is_consistent_and_read_only(self) -> None:
        assert len(MODELS) == len(CATALOG)
        for event_type, model in CATALOG.items():
            assert model.event_type == event_type
            assert model.topic in TOPICS
            assert payload_model(event_type) is model
        with pytest.raises(TypeError):
            CATALOG["io.aigov.fake.v1"] = SystemRegistered  # type: ignore[index]

    def test_every_payload_names_its_system(self) -> None:
        for model in MODELS:
            assert "system_id" in model.model_fields
            assert model.model_config.get("extra") == "forbid"
            assert model.model_config.get("frozen") is True

    def test_declaring_a_malformed_event_type_fails_at_class_creation(self) -> None:
        with pytest.raises(TypeError, match=r"not io\.aigov"):

            class Bad(EventPayload):
                """Bad."""

                event_type = "aigov.bad"
                topic = "aigov.lifecycle"
                example: ClassVar[dict[str, Any]] = {}


class TestUnknownTypes:
    @pytest.mark.parametrize(
        "event_type", ["io.aigov.system.exploded.v1", "io.aigov.system.registered.v9", ""]
    )
    def test_unknown_type_raises_unknown_event_type(self, event_type: str) -> None:
        for call in (payload_model, topic_for):
            with pytest.raises(UnknownEventType) as exc:
                call(event_type)
            assert exc.value.event_type == event_type
        with pytest.raises(UnknownEventType):
            validate_payload(event_type, {"system_id": "x"})


class TestExamples:
    @pytest.mark.parametrize("model", MODELS, ids=lambda m: m.event_type)
    def test_example_validates_in_every_input_form(self, model: type[EventPayload]) -> None:
        from_dict = validate_payload(model.event_type, dict(model.example))
        assert type(from_dict) is model
        text = json.dumps(dict(model.example))
        assert validate_payload(model.event_type, text) == from_dict
        assert validate_payload(model.event_type, text.encode()) == from_dict
        assert validate_payload(model.event_type, from_dict) is from_dict

    @pytest.mark.parametrize("model", MODELS, ids=lambda m: m.event_type)
    def test_wire_form_round_trips(self, model: type[EventPayload]) -> None:
        payload = model.model_validate(model.example)
        # The envelope publishes data with by_alias and exclude_none.
        wire = payload.model_dump(mode="json", by_alias=True, exclude_none=True)
        assert validate_payload(model.event_type, wire) == payload
        assert validate_payload(model.event_type, payload.model_dump_json()) == payload

    @pytest.mark.parametrize("model", MODELS, ids=lambda m: m.event_type)
    def test_models_are_documented(self, model: type[EventPayload]) -> None:
        assert (model.__doc__ or "").strip()
        schema = model.model_json_schema(by_alias=True)
        assert schema["description"] == (model.__doc__ or "").strip()

    def test_manifest_hashes_in_the_examples_are_real(self) -> None:
        registered = SystemRegistered.model_validate(SystemRegistered.example)
        updated = SystemUpdated.model_validate(SystemUpdated.example)
        tier = TierAssigned.model_validate(TierAssigned.example)
        assert registered.manifest_sha256 == registered.manifest.content_sha256()
        assert updated.manifest_sha256 == updated.manifest.content_sha256()
        assert updated.previous_manifest_sha256 == registered.manifest_sha256
        assert tier.manifest_sha256 == registered.manifest_sha256

    def test_system_registered_carries_a_shared_example_manifest(self) -> None:
        path = EXAMPLES / "systems" / "support-summarizer.yaml"
        manifest = AISystemManifest.model_validate(yaml_load(path))
        payload = validate_payload(
            "io.aigov.system.registered.v1",
            {
                "system_id": "support-summarizer",
                "revision": 1,
                "manifest_sha256": manifest.content_sha256(),
                "manifest": manifest.to_document(),
            },
        )
        assert isinstance(payload, SystemRegistered)
        assert payload.manifest == manifest


def yaml_load(path: Path) -> dict[str, Any]:
    """Load a YAML mapping."""
    import yaml

    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


# Intake request bodies (examples/requests) -> event payloads: what intake renames,
# drops (it becomes the event type or the envelope) and adds (ids it assigns).
REQUEST_MAPPINGS: list[tuple[str, str, dict[str, str], set[str], dict[str, Any]]] = [
    ("evaluation.json", "io.aigov.evaluation.completed.v1", {}, set(), {}),
    ("artifact.json", "io.aigov.artifact.submitted.v1", {}, set(), {}),
    ("deployment.json", "io.aigov.deployment.requested.v1", {}, {"status"}, {}),
    ("approval.json", "io.aigov.approval.granted.v1", {}, {"decision"}, {}),
    ("waiver-request.json", "io.aigov.waiver.requested.v1", {}, set(), {"waiver_id": "W-17"}),
    (
        "alert.json",
        "io.aigov.alert.raised.v1",
        {},
        set(),
        {"alert_id": "a-1", "fingerprint": "3f2a9c1d7e6b5a40", "starts_at": "2026-11-20T09:31:00Z"},
    ),
    ("incident.json", "io.aigov.incident.reported.v1", {}, set(), {"incident_id": "INC-1"}),
]


class TestIntakeRequestExamples:
    @pytest.mark.parametrize(
        ("filename", "event_type", "renames", "drops", "additions"),
        REQUEST_MAPPINGS,
        ids=[m[0] for m in REQUEST_MAPPINGS],
    )
    def test_request_example_maps_onto_its_payload(
        self,
        filename: str,
        event_type: str,
        renames: dict[str, str],
        drops: set[str],
        additions: dict[str, Any],
    ) -> None:
        request = json.loads((EXAMPLES / "requests" / filename).read_text(encoding="utf-8"))
        data = {key: value for key, value in request.items() if key not in drops}
        data["system_id"] = data.pop("system")
        if "dataset" in data:
            data["datasets"] = [data.pop("dataset")]
        for old, new in renames.items():
            data[new] = data.pop(old)
        data.update(additions)
        payload = validate_payload(event_type, data)
        assert payload.system_id == "support-summarizer"


class TestFieldErrors:
    def test_error_names_the_nested_field_path(self) -> None:
        data = _example(EvaluationCompleted)
        data["metrics"][0]["value"] = "high"
        errors = _invalid(EvaluationCompleted.event_type, data)
        assert errors == {"metrics.0.value": "Input should be a valid number"}

    def test_all_problems_are_reported_at_once(self) -> None:
        data = _example(EvaluationCompleted, system_id="Not A Slug", suite="")
        del data["run"]
        errors = _invalid(EvaluationCompleted.event_type, data)
        assert errors.keys() == {"system_id", "suite", "run"}

    @pytest.mark.parametrize("model", MODELS, ids=lambda m: m.event_type)
    def test_extra_fields_are_rejected(self, model: type[EventPayload]) -> None:
        errors = _invalid(model.event_type, _example(model, approver="mallory"))
        assert errors == {"approver": "Extra inputs are not permitted"}

    def test_extra_fields_in_nested_objects_are_rejected(self) -> None:
        data = _example(EvaluationCompleted)
        data["run"]["branch"] = "main"
        assert _invalid(EvaluationCompleted.event_type, data) == {
            "run.branch": "Extra inputs are not permitted"
        }

    @pytest.mark.parametrize(
        ("model", "field"),
        [
            (IncidentReported, "occurred_at"),
            (AlertRaised, "starts_at"),
        ],
    )
    @pytest.mark.parametrize("value", ["2026-11-20T09:42:00", "2026-11-20", 1763631720])
    def test_naive_or_non_rfc3339_timestamps_are_rejected(
        self, model: type[EventPayload], field: str, value: object
    ) -> None:
        errors = _invalid(model.event_type, _example(model, **{field: value}))
        assert field in errors

    def test_naive_datetime_objects_are_rejected_in_python_too(self) -> None:
        data = _example(IncidentReported)
        payload = IncidentReported.model_validate(data)
        naive = payload.occurred_at.replace(tzinfo=None)
        with pytest.raises(ValidationError):
            IncidentReported.model_validate({**data, "occurred_at": naive})

    def test_offsets_are_kept(self) -> None:
        payload = validate_payload(
            IncidentReported.event_type,
            _example(IncidentReported, occurred_at="2026-11-20T10:42:00+01:00"),
        )
        assert isinstance(payload, IncidentReported)
        assert payload.occurred_at.utcoffset() == timedelta(hours=1)
        assert payload.model_dump(mode="json")["occurred_at"] == "2026-11-20T10:42:00+01:00"

    @pytest.mark.parametrize(
        ("field", "value"),
        [("serious", "false"), ("serious", 0), ("severity", "sev1"), ("severity", "HIGH")],
    )
    def test_validation_is_strict_json(self, field: str, value: object) -> None:
        errors = _invalid(IncidentReported.event_type, _example(IncidentReported, **{field: value}))
        assert field in errors

    def test_non_finite_numbers_are_rejected(self) -> None:
        data = _example(EvaluationCompleted)
        data["metrics"][0]["value"] = float("nan")
        assert _invalid(EvaluationCompleted.event_type, data).keys() == {"metrics.0.value"}
        text = json.dumps(_example(EvaluationCompleted)).replace("0.86", "Infinity")
        assert "metrics.0.value" in _invalid(EvaluationCompleted.event_type, text)

    @pytest.mark.parametrize("data", ["{not json", "[]", b"42", ["system_id"], None])
    def test_non_objects_are_reported_at_the_root(self, data: object) -> None:
        assert "(root)" in _invalid(AlertRaised.event_type, data)

    def test_non_json_values_are_reported_at_the_root(self) -> None:
        errors = _invalid(AlertRaised.event_type, _example(AlertRaised, labels={1, 2}))
        assert list(errors) == ["(root)"]

    @pytest.mark.parametrize(
        "system_id",
        ["", "Support", "-lead", "a" * 64, "support summarizer", "sümmarizer", "support\n"],
    )
    def test_system_ids_are_lower_case_slugs(self, system_id: str) -> None:
        errors = _invalid(AlertRaised.event_type, _example(AlertRaised, system_id=system_id))
        assert "system_id" in errors

    def test_payloads_are_immutable(self) -> None:
        payload = AlertRaised.model_validate(AlertRaised.example)
        with pytest.raises(ValidationError):
            payload.summary = "changed"  # type: ignore[misc]


class TestCrossFieldRules:
    def test_manifest_must_describe_the_payload_system(self) -> None:
        errors = _invalid(
            SystemRegistered.event_type, _example(SystemRegistered, system_id="other-system")
        )
        assert errors.keys() == {"manifest"}
        assert "differs from system_id" in errors["manifest"]

    def test_manifest_errors_use_the_public_camel_case_path(self) -> None:
        data = _example(SystemRegistered)
        data["manifest"]["spec"]["useCase"]["annexIII"] = "employment"
        assert "manifest.spec.useCase.annexIII" in _invalid(SystemRegistered.event_type, data)

    def test_manifest_keeps_unknown_fields_inside_a_strict_payload(self) -> None:
        data = _example(SystemRegistered)
        data["manifest"]["spec"]["fairness"] = {"reviewed": True}
        payload = validate_payload(SystemRegistered.event_type, data)
        assert isinstance(payload, SystemRegistered)
        assert payload.manifest.unknown_fields() == ["spec.fairness"]

    def test_an_update_is_revision_two_or_later(self) -> None:
        errors = _invalid(SystemUpdated.event_type, _example(SystemUpdated, revision=1))
        assert errors.keys() == {"revision"}

    def test_metric_names_are_unique(self) -> None:
        data = _example(EvaluationCompleted)
        data["metrics"].append(dict(data["metrics"][0]))
        errors = _invalid(EvaluationCompleted.event_type, data)
        assert errors == {"metrics": "metric 'groundedness' appears more than once"}

    def test_an_evaluation_needs_metrics_and_datasets(self) -> None:
        data = _example(EvaluationCompleted, metrics=[], datasets=[])
        assert _invalid(EvaluationCompleted.event_type, data).keys() == {"metrics", "datasets"}

    def test_rollback_goes_to_another_release(self) -> None:
        event_type = "io.aigov.deployment.rolled_back.v1"
        data = _example(payload_model(event_type), to_version="2026.11.3")
        assert _invalid(event_type, data).keys() == {"to_version"}

    @pytest.mark.parametrize(
        ("changes", "error_field"),
        [
            ({"scope": "material_change"}, "material_change_id"),
            ({"material_change_id": "mc-1"}, "material_change_id"),
            ({"scope": "everything"}, "scope"),
        ],
    )
    def test_approval_scope_and_change_id_go_together(
        self, changes: dict[str, Any], error_field: str
    ) -> None:
        errors = _invalid(ApprovalGranted.event_type, _example(ApprovalGranted, **changes))
        assert error_field in errors

    def test_approval_for_a_material_change(self) -> None:
        payload = validate_payload(
            ApprovalGranted.event_type,
            _example(ApprovalGranted, scope="material_change", material_change_id="mc-1"),
        )
        assert isinstance(payload, ApprovalGranted)
        assert payload.role == "approver"

    @pytest.mark.parametrize(
        "controls",
        [[], ["evaluation.prompt_injection", "evaluation.prompt_injection"], ["PromptInjection"]],
    )
    def test_waiver_controls(self, controls: list[str]) -> None:
        event_type = "io.aigov.waiver.requested.v1"
        errors = _invalid(event_type, _example(payload_model(event_type), controls=controls))
        assert any(path.startswith("controls") for path in errors)

    def test_alert_cannot_end_before_it_starts(self) -> None:
        data = _example(AlertRaised, ends_at="2026-11-20T09:00:00Z")
        assert _invalid(AlertRaised.event_type, data) == {"ends_at": "ends_at is before starts_at"}

    def test_sla_breach_is_not_before_its_deadline(self) -> None:
        event_type = "io.aigov.sla.breached.v1"
        data = _example(payload_model(event_type), breached_at="2026-11-20T09:00:00Z")
        assert _invalid(event_type, data).keys() == {"breached_at"}

    @pytest.mark.parametrize(
        ("changes", "error_field"),
        [
            ({"retryable": True, "next_attempt_at": None}, "next_attempt_at"),
            ({"next_attempt_at": "2026-11-20T09:50:00Z"}, "next_attempt_at"),
            ({"attempt": 0}, "attempt"),
            ({"channel": "carrier-pigeon"}, "channel"),
        ],
    )
    def test_notification_failure_rules(self, changes: dict[str, Any], error_field: str) -> None:
        event_type = "io.aigov.notification.failed.v1"
        data = _example(payload_model(event_type), **changes)
        if changes.get("next_attempt_at", "") is None:
            del data["next_attempt_at"]
        assert error_field in _invalid(event_type, data)

    @pytest.mark.parametrize(
        "changes",
        [
            {"allowed": True},  # the example has a missing control
            {"allowed": True, "missing_controls": [], "tier": "prohibited"},
            {"allowed": True, "missing_controls": [], "tier": None},
            {"allowed": True, "missing_controls": [], "reasons": ["material change pending"]},
        ],
    )
    def test_gate_cannot_allow_with_blockers(self, changes: dict[str, Any]) -> None:
        event_type = "io.aigov.gate.decided.v1"
        data = _example(payload_model(event_type), **changes)
        if data.get("tier") is None:
            del data["tier"]
        assert _invalid(event_type, data).keys() == {"allowed"}

    def test_gate_allows_a_clean_release(self) -> None:
        event_type = "io.aigov.gate.decided.v1"
        payload = validate_payload(
            event_type, _example(payload_model(event_type), allowed=True, missing_controls=[])
        )
        assert payload.model_dump()["allowed"] is True

    @pytest.mark.parametrize(
        ("changes", "error_field"),
        [
            ({"kind": "evaluation"}, "manifest_diff"),
            ({"manifest_diff": None}, "manifest_diff"),
            (
                {
                    "evaluation_regression": {
                        "version": "2026.2.0",
                        "baseline_version": "2026.1.0",
                        "metrics": [
                            {
                                "metric": "ndcg",
                                "previous_value": 0.8,
                                "current_value": 0.7,
                                "tolerance": 0.02,
                            }
                        ],
                    }
                },
                "evaluation_regression",
            ),
        ],
    )
    def test_material_change_details_match_its_kind(
        self, changes: dict[str, Any], error_field: str
    ) -> None:
        event_type = "io.aigov.material_change.detected.v1"
        data = _example(payload_model(event_type), **changes)
        assert error_field in _invalid(event_type, data)

    def test_manifest_diff_moves_forward(self) -> None:
        event_type = "io.aigov.material_change.detected.v1"
        data = _example(payload_model(event_type))
        data["manifest_diff"]["to_revision"] = 2
        assert _invalid(event_type, data).keys() == {"manifest_diff.to_revision"}

    @pytest.mark.parametrize(
        ("framework", "good", "bad"),
        [
            ("nist_ai_rmf", "GOVERN 1.1", "govern 1.1"),
            ("eu_ai_act", "5(1)(a)", "Art. 9"),
            ("iso_42001", "A.6.2.4", "6.2.4"),
        ],
    )
    def test_framework_references_use_official_identifiers(
        self, framework: str, good: str, bad: str
    ) -> None:
        def with_ref(ref: str) -> dict[str, Any]:
            data = _example(TierAssigned)
            data["required_controls"][0]["frameworks"][framework] = [ref]
            return data

        assert validate_payload(TierAssigned.event_type, with_ref(good))
        errors = _invalid(TierAssigned.event_type, with_ref(bad))
        assert errors.keys() == {f"required_controls.0.frameworks.{framework}.0"}

    def test_tier_is_a_closed_vocabulary(self) -> None:
        assert [tier.value for tier in Tier] == ["prohibited", "high", "medium", "low"]
        assert "tier" in _invalid(TierAssigned.event_type, _example(TierAssigned, tier="extreme"))


# Strategies for a valid EvaluationCompleted in its JSON form.
_slug = st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)
_version = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,15}", fullmatch=True)
# Catalog text holds no NUL (PostgreSQL cannot store one) and no lone surrogate (it has no
# UTF-8 form, so no JSON text can carry it): the valid domain excludes both.
_name = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=30
).filter(lambda s: not s.isspace())
_finite = st.floats(allow_nan=False, allow_infinity=False)
_metric = st.fixed_dictionaries(
    {
        "name": st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,20}", fullmatch=True),
        "value": _finite,
        "higher_is_better": st.booleans(),
    },
    optional={"threshold": _finite, "passed": st.booleans()},
)
_evaluation_required: dict[str, st.SearchStrategy[Any]] = {
    "system_id": _slug,
    "version": _version,
    "suite": _name,
    "metrics": st.lists(_metric, min_size=1, max_size=8, unique_by=lambda m: m["name"]),
    "datasets": st.lists(
        st.fixed_dictionaries(
            {"id": _name, "version": _name},
            optional={"uri": st.just("s3://bucket/key.parquet")},
        ),
        min_size=1,
        max_size=3,
    ),
    "run": st.fixed_dictionaries(
        {"id": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/+-]{0,20}", fullmatch=True)},
        optional={"commit": st.from_regex(r"[0-9a-f]{7,40}", fullmatch=True)},
    ),
}
_evaluation = st.fixed_dictionaries(
    _evaluation_required, optional={"raw_outputs_uri": st.just("s3://bucket/outputs.jsonl")}
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | _finite | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=15,
)


class TestProperties:
    def test_a_lone_surrogate_is_refused_not_crashed_on(self) -> None:
        data = _example(EvaluationCompleted, suite="run \ud800 one")
        assert ROOT in _invalid(EvaluationCompleted.event_type, data)

    @given(data=_evaluation)
    def test_any_valid_evaluation_round_trips_through_json(self, data: dict[str, Any]) -> None:
        payload = validate_payload(EvaluationCompleted.event_type, data)
        assert isinstance(payload, EvaluationCompleted)
        assert (
            validate_payload(EvaluationCompleted.event_type, payload.model_dump_json()) == payload
        )
        wire = json.loads(payload.model_dump_json(exclude_none=True))
        assert wire == data  # nothing added, nothing lost
        assert validate_payload(EvaluationCompleted.event_type, wire) == payload

    @given(
        event_type=st.sampled_from(sorted(CATALOG)),
        data=st.dictionaries(st.text(max_size=12), _json, max_size=6) | _json,
    )
    def test_arbitrary_json_is_valid_or_rejected_with_field_errors(
        self, event_type: str, data: object
    ) -> None:
        outcome: EventPayload | InvalidPayload
        try:
            outcome = validate_payload(event_type, data)
        except InvalidPayload as exc:  # any other exception fails the test
            outcome = exc
        if isinstance(outcome, InvalidPayload):
            assert outcome.errors
            assert all(isinstance(path, str) and message for path, message in outcome.errors)
        else:
            assert isinstance(outcome, CATALOG[event_type])
