"""MLflow deliveries -> model_version.registered: per action, attribution inputs, ids, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from aigov_events.catalog import ModelVersionRegistered
from aigov_events.topics import LIFECYCLE
from aigov_intake.adapters import mlflow as adapter

FIXTURES = Path(__file__).parent / "fixtures"
SYSTEM = "support-summarizer"


def fixture(name: str) -> dict[str, Any]:
    """A hand-written MLflow delivery body from fixtures/."""
    loaded: dict[str, Any] = json.loads((FIXTURES / f"mlflow_{name}.json").read_text())
    return loaded


def statement(body: dict[str, Any]) -> adapter.ModelVersionStatement:
    """The statement a delivery makes (fails the test if it is ignored)."""
    result = adapter.interpret(adapter.parse_delivery(body))
    assert isinstance(result, adapter.ModelVersionStatement), result
    return result


def registered(body: dict[str, Any], *, key: str = "mlflow-delivery:d-1") -> ModelVersionRegistered:
    """The one catalog payload a delivery maps to."""
    delivery = adapter.parse_delivery(body)
    [event] = adapter.to_events(
        statement(body),
        system_id=SYSTEM,
        delivery_key=key,
        actor="webhook:mlflow",
        time=delivery.timestamp,
    )
    assert isinstance(event.payload, ModelVersionRegistered)
    return event.payload


class TestEnvelope:
    def test_parses_the_envelope(self) -> None:
        delivery = adapter.parse_delivery(fixture("model_version_created"))
        assert delivery.event == "model_version.created"
        assert delivery.timestamp == datetime(2026, 3, 2, 9, 41, 7, 512044, tzinfo=UTC)

    def test_unknown_top_level_keys_are_ignored(self) -> None:
        body = {**fixture("model_version_created"), "workspace": "team-a", "future": [1]}
        assert adapter.parse_delivery(body).workspace == "team-a"

    @pytest.mark.parametrize("missing", ["entity", "action", "timestamp", "data"])
    def test_envelope_fields_are_required(self, missing: str) -> None:
        body = fixture("model_version_created")
        del body[missing]
        with pytest.raises(ValidationError) as caught:
            adapter.parse_delivery(body)
        assert caught.value.errors()[0]["loc"] == (missing,)

    @pytest.mark.parametrize("field", ["entity", "action"])
    def test_event_name_parts_must_be_text_not_numbers(self, field: str) -> None:
        # Found by the schemathesis run: `"action": -8.7e-223` became the event name
        # "model_version.-8.7e-223" and was acknowledged as an unknown event.
        body = {**fixture("model_version_created"), field: -8.761336733344407e-223}
        with pytest.raises(ValidationError) as caught:
            adapter.parse_delivery(body)
        assert [e["loc"] for e in caught.value.errors()] == [(field,)]

    def test_an_epoch_timestamp_is_refused(self) -> None:
        body = {**fixture("model_version_created"), "timestamp": 1795750618}
        with pytest.raises(ValidationError) as caught:
            adapter.parse_delivery(body)
        assert [e["loc"] for e in caught.value.errors()] == [("timestamp",)]

    def test_naive_timestamp_is_refused(self) -> None:
        body = {**fixture("model_version_created"), "timestamp": "2026-03-02T09:41:07"}
        with pytest.raises(ValidationError):
            adapter.parse_delivery(body)


class TestModelVersionCreated:
    def test_maps_every_field(self) -> None:
        payload = registered(fixture("model_version_created"))
        assert payload.system_id == SYSTEM
        assert payload.version == "2026.3.1"  # the ai_release tag
        assert payload.registry == "mlflow"
        assert (payload.model_name, payload.model_version) == ("support-summarizer-llm", "7")
        assert payload.source == "models:/m-9c41d2e07a"
        assert payload.run_id == "3f9a1c0b7e6d4a5f8b2c1d0e9f8a7b6c"
        assert payload.tags["mlflow.user"] == "dana.kim"
        assert payload.aliases == []

    def test_system_comes_from_the_ai_system_tag(self) -> None:
        result = statement(fixture("model_version_created"))
        assert result.system_candidates == (SYSTEM,)
        assert "ai_system" in result.looked_in

    def test_tags_that_are_not_labels_are_left_out_with_a_note(self) -> None:
        result = statement(fixture("model_version_created"))
        assert "data snapshot" not in result.tags
        assert any("'data snapshot'" in note for note in result.notes)

    def test_a_local_path_source_is_left_out_with_a_note(self) -> None:
        body = fixture("model_version_created")
        body["data"]["source"] = "/mnt/mlruns/7/artifacts/model"
        result = statement(body)
        assert result.source is None
        assert any(note.startswith("source left out") for note in result.notes)

    def test_untagged_version_has_no_system_or_release(self) -> None:
        body = fixture("model_version_created")
        body["data"]["tags"] = {}
        result = statement(body)
        assert result.system_candidates == (None,)
        assert registered(body).version is None

    def test_at_most_64_tags_are_kept(self) -> None:
        body = fixture("model_version_created")
        body["data"]["tags"] = {f"k{n}": "v" for n in range(70)}
        result = statement(body)
        assert len(result.tags) == 64
        assert any("64" in note for note in result.notes)

    def test_invalid_release_tag_is_located_in_the_body(self) -> None:
        body = fixture("model_version_created")
        body["data"]["tags"]["ai_release"] = "release 3"
        with pytest.raises(adapter.MappingError) as caught:
            registered(body)
        assert [e.loc for e in caught.value.errors] == [["body", "data", "tags", "ai_release"]]

    def test_missing_version_is_a_validation_error(self) -> None:
        body = fixture("model_version_created")
        del body["data"]["version"]
        with pytest.raises(ValidationError):
            statement(body)

    def test_numeric_version_is_read_as_text(self) -> None:
        body = fixture("model_version_created")
        body["data"]["version"] = 7
        assert statement(body).model_version == "7"


class TestTagSet:
    def test_carries_the_one_tag(self) -> None:
        payload = registered(fixture("model_version_tag_set"))
        assert payload.tags == {"validation_status": "approved"}
        assert (payload.model_name, payload.model_version, payload.version) == (
            "support-summarizer-llm",
            "7",
            None,
        )

    def test_setting_ai_system_names_the_system(self) -> None:
        body = fixture("model_version_tag_set")
        body["data"].update(key="ai_system", value="claims-triage")
        assert statement(body).system_candidates == ("claims-triage",)

    def test_setting_ai_release_names_the_release(self) -> None:
        body = fixture("model_version_tag_set")
        body["data"].update(key="ai_release", value="2026.4.0")
        assert registered(body).version == "2026.4.0"

    def test_other_tags_name_no_system(self) -> None:
        assert statement(fixture("model_version_tag_set")).system_candidates == (None,)


class TestAliasCreated:
    def test_carries_the_alias_lower_cased(self) -> None:
        payload = registered(fixture("model_version_alias_created"))
        assert payload.aliases == ["champion"]
        assert payload.tags == {}

    def test_names_no_system(self) -> None:
        result = statement(fixture("model_version_alias_created"))
        assert result.system_candidates == ()
        assert "alias" in result.looked_in

    def test_alias_that_is_no_slug_is_located(self) -> None:
        body = fixture("model_version_alias_created")
        body["data"]["alias"] = "2nd best"
        with pytest.raises(adapter.MappingError) as caught:
            registered(body)
        assert caught.value.errors[0].loc[:3] == ["body", "data", "alias"]


class TestIgnored:
    def test_registered_model_created_has_no_version_yet(self) -> None:
        result = adapter.interpret(adapter.parse_delivery(fixture("registered_model_created")))
        assert isinstance(result, adapter.Ignored)
        assert "no version" in result.reason

    @pytest.mark.parametrize(
        ("entity", "action"),
        [
            ("model_version_tag", "deleted"),
            ("model_version_alias", "deleted"),
            ("prompt", "created"),
        ],
    )
    def test_other_events_are_ignored_by_name(self, entity: str, action: str) -> None:
        body = {**fixture("model_version_tag_set"), "entity": entity, "action": action}
        result = adapter.interpret(adapter.parse_delivery(body))
        assert isinstance(result, adapter.Ignored)
        assert f"{entity}.{action}" in result.reason


class TestEvents:
    def test_envelope_of_the_event(self) -> None:
        body = fixture("model_version_created")
        delivery = adapter.parse_delivery(body)
        [event] = adapter.to_events(
            statement(body),
            system_id=SYSTEM,
            delivery_key="mlflow-delivery:d-1",
            actor="webhook:mlflow",
            time=delivery.timestamp,
        )
        assert event.type == ModelVersionRegistered.event_type
        assert event.topic == LIFECYCLE
        assert event.envelope.source == adapter.SOURCE
        assert event.envelope.subject == SYSTEM
        assert event.envelope.partitionkey == SYSTEM
        assert event.actor == "webhook:mlflow"
        assert event.time == delivery.timestamp

    def test_ids_are_deterministic_per_delivery(self) -> None:
        body = fixture("model_version_created")
        first = adapter.to_events(
            statement(body), system_id=SYSTEM, delivery_key="k-1", actor="a", time=datetime.now(UTC)
        )
        again = adapter.to_events(
            statement(body), system_id=SYSTEM, delivery_key="k-1", actor="a", time=datetime.now(UTC)
        )
        other = adapter.to_events(
            statement(body), system_id=SYSTEM, delivery_key="k-2", actor="a", time=datetime.now(UTC)
        )
        assert first[0].id == again[0].id != other[0].id


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
DATA_KEYS = st.sampled_from(
    ["name", "version", "source", "run_id", "tags", "key", "value", "alias"]
)


class TestNeverCrashes:
    """Whatever MLflow (or anyone holding the secret) sends, the adapter answers or refuses."""

    @settings(max_examples=100)
    @given(
        entity=st.sampled_from(["model_version", "model_version_tag", "model_version_alias", "x"]),
        action=st.sampled_from(["created", "set", "deleted"]),
        data=st.dictionaries(
            DATA_KEYS, JSON | st.dictionaries(st.text(max_size=10), JSON), max_size=8
        ),
    )
    def test_only_documented_errors(self, entity: str, action: str, data: dict[str, Any]) -> None:
        body = {
            "entity": entity,
            "action": action,
            "timestamp": "2026-03-02T09:41:07Z",
            "data": data,
        }
        try:
            result = adapter.interpret(adapter.parse_delivery(body))
            if isinstance(result, adapter.ModelVersionStatement):
                adapter.to_events(
                    result, system_id=SYSTEM, delivery_key="k", actor="a", time=datetime.now(UTC)
                )
        except (ValidationError, adapter.MappingError):
            pass
