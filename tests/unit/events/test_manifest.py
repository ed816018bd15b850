"""The public `aigov.io/v1 AISystem` manifest model: the examples, aliases, extras, hashing."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from aigov_events.catalog import (
    ANNEX_III_AREAS,
    DATA_CLASSES,
    MODEL_TYPES,
    PROHIBITED_PRACTICES,
    TOOL_CAPABILITIES,
    AISystemManifest,
)
from aigov_events.catalog.manifest import UseCase
from tests.fixtures import EXAMPLES

MANIFEST_FILES = sorted((EXAMPLES / "systems").glob("*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def _errors(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, str]:
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in exc.value.errors()}


@pytest.fixture
def document() -> dict[str, Any]:
    """A fresh copy of the support-summarizer manifest (the richest example)."""
    return _load(EXAMPLES / "systems" / "support-summarizer.yaml")


class TestSharedExamples:
    def test_examples_are_present(self) -> None:
        assert len(MANIFEST_FILES) >= 3, f"expected the example manifests in {EXAMPLES}"

    @pytest.mark.parametrize("path", MANIFEST_FILES, ids=lambda p: p.stem)
    def test_parses_unchanged_and_reproduces_the_document(self, path: Path) -> None:
        document = _load(path)
        manifest = AISystemManifest.model_validate(document)
        assert manifest.metadata.id == path.stem
        assert manifest.model_dump(by_alias=True, exclude_unset=True) == document
        assert manifest.unknown_fields() == []

    @pytest.mark.parametrize("path", MANIFEST_FILES, ids=lambda p: p.stem)
    def test_full_dump_is_a_valid_document_with_the_same_meaning(self, path: Path) -> None:
        manifest = AISystemManifest.model_validate(_load(path))
        for dumped in (manifest.model_dump(by_alias=True), manifest.to_document()):
            again = AISystemManifest.model_validate(dumped)
            assert again == manifest
            assert again.content_sha256() == manifest.content_sha256()

    def test_plain_dump_uses_the_public_camel_case_keys(self, document: dict[str, Any]) -> None:
        dumped = AISystemManifest.model_validate(document).model_dump()
        assert dumped["apiVersion"] == "aigov.io/v1"
        assert set(dumped["spec"]) >= {"useCase", "humanOversight"}
        assert "annexIII" in dumped["spec"]["useCase"]

    def test_typed_access(self, document: dict[str, Any]) -> None:
        manifest = AISystemManifest.model_validate(document)
        assert manifest.spec.users.includes_minors is False
        assert manifest.spec.genai.retrieval is not None
        assert manifest.spec.genai.retrieval.corpora[0].data_classes == [
            "customer-content",
            "personal-data",
        ]
        assert manifest.spec.model.third_party[0].vendor == "Azure OpenAI"


class TestVocabulary:
    def _readme_vocabulary(self) -> dict[str, set[str]]:
        text = (EXAMPLES / "README.md").read_text(encoding="utf-8")
        section = text.split("## Vocabulary", 1)[1]
        # Bullets wrap onto indented continuation lines; join them before parsing.
        bullets = re.split(r"\n- ", section.replace("\n  ", " "))[1:]
        vocabulary = {}
        for bullet in bullets:
            field, _, values = bullet.partition(":")
            vocabulary[field.split("`")[1]] = set(re.findall(r"`([^`]+)`", values))
        return vocabulary

    def test_constants_match_the_examples_readme(self) -> None:
        vocabulary = self._readme_vocabulary()
        assert vocabulary["spec.useCase.annexIII"] == ANNEX_III_AREAS
        assert vocabulary["spec.useCase.prohibitedPractices"] == PROHIBITED_PRACTICES
        assert vocabulary["spec.data.classes"] == DATA_CLASSES
        assert vocabulary["spec.agent.tools[].capabilities"] == TOOL_CAPABILITIES
        assert vocabulary["spec.model.type"] == MODEL_TYPES

    def test_unknown_vocabulary_values_are_accepted_as_strings(
        self, document: dict[str, Any]
    ) -> None:
        document["spec"]["useCase"]["annexIII"] = ["space-traffic-control"]
        document["spec"]["model"]["type"] = "world-model"
        manifest = AISystemManifest.model_validate(document)
        assert manifest.spec.use_case.annex_iii == ["space-traffic-control"]
        assert manifest.spec.model.type not in MODEL_TYPES


class TestAliases:
    def test_snake_case_names_are_accepted_and_dumped_as_camel_case(self) -> None:
        use_case = UseCase.model_validate(
            {"category": "hr", "annex_iii": ["employment"], "prohibited_practices": []}
        )
        assert use_case.model_dump() == {
            "category": "hr",
            "annexIII": ["employment"],
            "prohibitedPractices": [],
        }


class TestExtraFields:
    def test_unknown_fields_are_preserved_and_listed(self, document: dict[str, Any]) -> None:
        document["spec"]["fairness"] = {"protectedAttributes": ["age"]}
        document["metadata"]["costCenter"] = "cc-1234"
        document["spec"]["genai"]["promptTemplates"][0]["owner"] = "prompt-team"
        manifest = AISystemManifest.model_validate(document)
        assert manifest.model_dump(by_alias=True, exclude_unset=True) == document
        assert manifest.unknown_fields() == [
            "metadata.costCenter",
            "spec.fairness",
            "spec.genai.promptTemplates.0.owner",
        ]

    def test_extra_fields_change_the_hash(self, document: dict[str, Any]) -> None:
        before = AISystemManifest.model_validate(document).content_sha256()
        document["spec"]["fairness"] = {"reviewed": True}
        assert AISystemManifest.model_validate(document).content_sha256() != before


class TestRejections:
    @pytest.mark.parametrize(
        ("path", "value", "error_path"),
        [
            (("apiVersion",), "aigov.io/v2", "apiVersion"),
            (("kind",), "Model", "kind"),
            (("metadata", "id"), "Support_Summarizer", "metadata.id"),
            (("metadata", "owner"), "   ", "metadata.owner"),
            (("spec", "useCase", "annexIII"), "employment", "spec.useCase.annexIII"),
            (("spec", "users", "includesMinors"), "maybe", "spec.users.includesMinors"),
            (
                ("spec", "genai", "promptTemplates", 0, "sha256"),
                "not-a-hash",
                "spec.genai.promptTemplates.0.sha256",
            ),
        ],
    )
    def test_bad_values_name_the_field(
        self,
        document: dict[str, Any],
        path: tuple[str | int, ...],
        value: object,
        error_path: str,
    ) -> None:
        target: Any = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        with pytest.raises(ValidationError) as exc:
            AISystemManifest.model_validate(document)
        assert error_path in _errors(exc)

    @pytest.mark.parametrize(
        ("section", "field"),
        [
            ("useCase", "annexIII"),
            ("useCase", "prohibitedPractices"),
            ("users", "includesMinors"),
            ("agent", "tools"),
            ("data", "trainingSources"),
        ],
    )
    def test_risk_relevant_declarations_are_required(
        self, document: dict[str, Any], section: str, field: str
    ) -> None:
        del document["spec"][section][field]
        with pytest.raises(ValidationError) as exc:
            AISystemManifest.model_validate(document)
        assert _errors(exc)[f"spec.{section}.{field}"] == "Field required"

    def test_numbers_are_not_coerced_to_strings(self) -> None:
        document = _load(EXAMPLES / "systems" / "resume-screener.yaml")
        document["spec"]["data"]["trainingSources"][0]["version"] = 7
        with pytest.raises(ValidationError) as exc:
            AISystemManifest.model_validate(document)
        assert "spec.data.trainingSources.0.version" in _errors(exc)

    def test_manifest_is_immutable(self, document: dict[str, Any]) -> None:
        manifest = AISystemManifest.model_validate(document)
        with pytest.raises(ValidationError):
            manifest.kind = "AISystem"  # type: ignore[misc]


class TestContentHash:
    def test_hash_is_sha256_of_sorted_compact_json(self, document: dict[str, Any]) -> None:
        manifest = AISystemManifest.model_validate(document)
        expected = json.dumps(
            document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
        assert manifest.canonical_json() == expected
        assert manifest.content_sha256() == hashlib.sha256(expected).hexdigest()

    def test_hash_ignores_key_order_and_explicit_nulls(self, document: dict[str, Any]) -> None:
        base = AISystemManifest.model_validate(document).content_sha256()
        reordered = dict(reversed(list(copy.deepcopy(document).items())))
        reordered["metadata"]["oncall"] = "support-ml-oncall"
        reordered["spec"]["data"]["labelPolicy"] = None
        assert AISystemManifest.model_validate(reordered).content_sha256() == base

    def test_hash_changes_with_a_material_field(self, document: dict[str, Any]) -> None:
        base = AISystemManifest.model_validate(document).content_sha256()
        document["spec"]["data"]["labelPolicy"] = "human-reviewed"
        assert AISystemManifest.model_validate(document).content_sha256() != base

    @given(
        extras=st.dictionaries(
            st.from_regex(r"x[A-Za-z]{0,8}", fullmatch=True),
            st.recursive(
                st.none()
                | st.booleans()
                | st.integers(-(2**53), 2**53)
                | st.floats(allow_nan=False, allow_infinity=False)
                | st.text(max_size=20),
                lambda inner: (
                    st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3)
                ),
                max_leaves=10,
            ),
            max_size=4,
        )
    )
    def test_hash_survives_the_event_json_round_trip(self, extras: dict[str, object]) -> None:
        document = _load(EXAMPLES / "systems" / "code-assistant.yaml")
        document["spec"].update(extras)
        manifest = AISystemManifest.model_validate(document)
        # What a consumer sees: the envelope dumps payloads as JSON with nulls dropped.
        wire = json.loads(json.dumps(manifest.model_dump(mode="json", exclude_none=True)))
        again = AISystemManifest.model_validate(wire)
        assert again.content_sha256() == manifest.content_sha256()
        spec = again.to_document()["spec"]
        assert isinstance(spec, dict)
        assert {key for key, value in extras.items() if value is not None} <= spec.keys()
