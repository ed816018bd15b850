"""No catalog string holds a NUL: PostgreSQL text cannot store one (schemathesis found a 500)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from aigov_events.catalog.manifest import AISystemManifest
from aigov_events.catalog.primitives import LabelValue, Name, Text, Uri, WebUrl
from tests.fixtures import SYSTEMS

CASES: list[tuple[Any, str]] = [
    (Name, "team\x00a"),
    (Name, "\x00"),
    (Text, "a rationale \x00 with a NUL"),
    (Uri, "s3://bucket/\x00key"),
    (WebUrl, "https://example.com/\x00"),
    (LabelValue, "prod\x00"),
]


@pytest.mark.parametrize(("kind", "value"), CASES)
def test_a_nul_character_is_refused(kind: Any, value: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(kind).validate_python(value)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (Name, "Support ML"),
        (Text, "line one\nline two\tand a tab"),
        (Uri, "models:/summarizer/3"),
        (WebUrl, "https://example.com/runs?id=1"),
        (LabelValue, ""),
    ],
)
def test_ordinary_values_still_pass(kind: Any, value: str) -> None:
    assert TypeAdapter(kind).validate_python(value) == value


@pytest.mark.parametrize("kind", [Name, Text])
def test_blank_text_is_still_refused(kind: Any) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(kind).validate_python(" \n\t ")


def test_a_manifest_term_with_a_nul_is_refused() -> None:
    # Terms end up in tier reasons and database columns; tiering's simulate answered 500.
    document = yaml.safe_load((SYSTEMS / "support-summarizer.yaml").read_text("utf-8"))
    document["spec"]["useCase"]["prohibitedPractices"] = ["social-scoring\x00"]
    with pytest.raises(ValidationError) as raised:
        AISystemManifest.model_validate(document)
    assert "prohibitedPractices" in str(raised.value)
