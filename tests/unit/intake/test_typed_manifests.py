"""`POST /v1/systems` logic without I/O: revision planning, plain-data checks, warnings."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from aigov_events.catalog import AISystemManifest, SystemRegistered, SystemUpdated
from aigov_intake.api.typed_systems import (
    MAX_DOCUMENT_DEPTH,
    document_errors,
    unknown_field_warnings,
)
from aigov_intake.manifests import plan_revision
from aigov_intake.models import SystemRecord
from aigov_runtime.errors import ProblemError
from tests.fixtures import SYSTEMS


def manifest(**metadata: Any) -> AISystemManifest:
    """The support-summarizer example, with metadata changes."""
    document = yaml.safe_load((SYSTEMS / "support-summarizer.yaml").read_text())
    document["metadata"].update(metadata)
    return AISystemManifest.model_validate(document)


def record(revision: int, digest: str, *, retired: bool = False) -> SystemRecord:
    """Intake's record of a system."""
    return SystemRecord(
        system_id="support-summarizer",
        revision=revision,
        manifest_sha256=digest,
        retired=retired,
        updated_by="someone",
        updated_at=datetime(2026, 11, 1, tzinfo=UTC),
    )


class TestPlanRevision:
    def test_unknown_system_is_registered_at_revision_one(self) -> None:
        subject = manifest()
        planned = plan_revision(subject, subject.content_sha256(), None)
        assert isinstance(planned, SystemRegistered)
        assert (planned.revision, planned.manifest_sha256) == (1, subject.content_sha256())

    def test_same_hash_changes_nothing(self) -> None:
        subject = manifest()
        digest = subject.content_sha256()
        assert plan_revision(subject, digest, record(4, digest)) is None

    def test_new_hash_is_the_next_revision_with_the_previous_hash(self) -> None:
        subject = manifest(name="Renamed")
        planned = plan_revision(subject, subject.content_sha256(), record(4, "a" * 64))
        assert isinstance(planned, SystemUpdated)
        assert (planned.revision, planned.previous_manifest_sha256) == (5, "a" * 64)

    def test_a_record_without_a_revision_registers(self) -> None:
        subject = manifest()
        planned = plan_revision(subject, subject.content_sha256(), record(0, ""))
        assert isinstance(planned, SystemRegistered)


class TestWarnings:
    def test_unknown_fields_are_named_by_path(self) -> None:
        document = yaml.safe_load((SYSTEMS / "code-assistant.yaml").read_text())
        document["spec"]["agent"]["tools"] = [
            {"name": "search", "capabilities": ["read-only"], "rateLimit": 3}
        ]
        document["extraTopLevel"] = True
        warnings = unknown_field_warnings(AISystemManifest.model_validate(document))
        assert [w.split(":")[0] for w in warnings] == [
            "extraTopLevel",
            "spec.agent.tools.0.rateLimit",
        ]

    @pytest.mark.parametrize("name", sorted(p.name for p in SYSTEMS.glob("*.yaml")))
    def test_the_examples_have_none(self, name: str) -> None:
        document = yaml.safe_load((SYSTEMS / name).read_text())
        assert unknown_field_warnings(AISystemManifest.model_validate(document)) == []


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5)
    ),
    max_leaves=50,
)


class TestDocumentErrors:
    @given(json_values)
    def test_plain_json_data_passes(self, value: Any) -> None:
        assert document_errors(value) == []

    def test_the_examples_pass(self) -> None:
        for path in SYSTEMS.glob("*.yaml"):
            assert document_errors(yaml.safe_load(path.read_text())) == [], path.name

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            (date(2026, 11, 20), "quote it"),
            (datetime(2026, 11, 20, tzinfo=UTC), "quote it"),
            (float("nan"), "finite"),
            (float("inf"), "finite"),
            (b"\xff", "bytes"),
            ({1, 2}, "set"),
        ],
    )
    def test_values_json_cannot_hold_are_located(self, value: Any, message: str) -> None:
        [error] = document_errors({"spec": {"notes": [value]}})
        assert error.loc == ["body", "spec", "notes", 0]
        assert message in error.msg

    def test_keys_must_be_strings(self) -> None:
        [error] = document_errors({"spec": {1: "x"}})
        assert error.loc == ["body", "spec", "1"]

    def test_depth_is_bounded(self) -> None:
        deep: Any = "leaf"
        for _ in range(MAX_DOCUMENT_DEPTH + 5):
            deep = [deep]
        [error] = document_errors(deep)
        assert "nested deeper" in error.msg

    def test_aliases_cannot_blow_up_the_document(self) -> None:
        shared: Any = ["x"] * 10
        for _ in range(6):
            shared = [shared] * 10  # what YAML aliases build: one object referenced many times
        with pytest.raises(ProblemError) as exc:
            document_errors(shared)
        assert exc.value.status_code == 413

    def test_errors_are_capped(self) -> None:
        assert len(document_errors([float("nan")] * 500)) == 50

    def test_input_is_not_modified(self) -> None:
        document = yaml.safe_load((SYSTEMS / "resume-screener.yaml").read_text())
        before = copy.deepcopy(document)
        document_errors(document)
        assert document == before
