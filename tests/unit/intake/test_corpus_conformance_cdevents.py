"""Real CDEvents conformance payloads (tests/fixtures/corpus/cdevents) through the adapter.

Each published example is sent as the CDEvents SDKs send it (CloudEvents binary mode: the
context copied into `ce-*` headers, the CDEvent as the body) and must map to the events
listed here or be acknowledged as ignored; the `NEGATIVE_*` one must be refused with the
position of its JSON error. A corpus file missing from the table fails the suite.
"""

from __future__ import annotations

import json
from typing import Any, Final

import pytest
from starlette.requests import Request

from aigov_intake.adapters import Outcome, cdevents
from aigov_intake.attribution import resolve_system
from aigov_intake.bodies import parse_json
from aigov_runtime.errors import ProblemError
from tests.fixtures import CORPUS

FOLDER: Final = CORPUS / "cdevents"
DIGEST_RELEASE: Final = "sha256-0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427"

#: file -> expected (event type, the payload fields that must hold), or "ignored".
EXPECTED: Final[dict[str, list[tuple[str, dict[str, Any]]] | str]] = {
    "artifact_published.json": "ignored",
    "change_merged.json": "ignored",
    "pipelinerun_finished.json": "ignored",
    "service_removed.json": "ignored",
    "testsuiterun_finished.json": "ignored",  # no metrics or datasets in customData
    "service_deployed.json": [
        (
            "io.aigov.deployment.completed.v1",
            {"version": DIGEST_RELEASE, "environment": "test123", "region": "EU"},
        )
    ],
    "service_upgraded.json": [
        (
            "io.aigov.deployment.completed.v1",
            {"version": DIGEST_RELEASE, "environment": "test123", "region": "EU"},
        )
    ],
    "incident_detected.json": [
        (
            "io.aigov.incident.reported.v1",
            {"incident_id": "incident-123", "severity": "high", "reported_by": "/monitoring/prod1"},
        )
    ],
    "incident_reported.json": [
        (
            "io.aigov.incident.reported.v1",
            {"incident_id": "incident-123", "severity": "medium", "reported_by": "userId"},
        )
    ],
}
NEGATIVE: Final = frozenset({"NEGATIVE_cloudevents_binding_http_binary_body_invalid_json.json"})


def corpus_file(name: str) -> bytes:
    """The raw bytes of a corpus file; the corpus is part of the test contract, never skipped."""
    assert FOLDER.is_dir(), f"the vendored payload corpus is missing: expected {FOLDER}"
    return (FOLDER / name).read_bytes()


def through_adapter(raw: bytes, query: str) -> Outcome:
    """What the webhook route does with a binary-mode request, minus auth and publishing."""
    body = parse_json(raw)
    context = body["context"]
    headers = {
        "ce-specversion": "1.0",
        "ce-id": context["id"],
        "ce-source": context["source"],
        "ce-type": context["type"],
    }
    received = cdevents.receive("application/cdevents+json", headers, body)
    if not cdevents.is_mapped(received):
        return cdevents.ignore(received)
    request = Request({"type": "http", "query_string": query.encode(), "headers": []})
    system_id = resolve_system(
        request, cdevents.named_systems(received), looked_in=cdevents.LOOKED_IN
    )
    return cdevents.to_outcome(
        received, system_id=system_id, region=request.query_params.get("region")
    )


def test_every_corpus_file_is_classified() -> None:
    assert FOLDER.is_dir(), f"the vendored payload corpus is missing: expected {FOLDER}"
    assert {p.name for p in FOLDER.glob("*.json")} == set(EXPECTED) | NEGATIVE


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_published_example_maps_to_the_expected_events(name: str) -> None:
    raw = corpus_file(name)
    outcome = through_adapter(raw, "system=support-summarizer&region=EU")
    expected = EXPECTED[name]
    if isinstance(expected, str):  # "ignored"
        assert outcome.drafts == []
        [note] = outcome.ignored
        assert note.ref == json.loads(raw)["context"]["type"]
        return
    assert [d.payload.event_type for d in outcome.drafts] == [t for t, _ in expected]
    for draft, (_, fields) in zip(outcome.drafts, expected, strict=True):
        data = draft.payload.model_dump(mode="json")
        assert {k: data[k] for k in fields} == fields
        assert data["system_id"] == "support-summarizer"
        # The CDEvent's own identity, so a redelivery is a duplicate.
        context = json.loads(raw)["context"]
        assert (draft.event_id, draft.source) == (context["id"], context["source"])


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e != "ignored"))
def test_published_example_without_a_system_is_refused(name: str) -> None:
    with pytest.raises(ProblemError) as caught:
        through_adapter(corpus_file(name), "region=EU")
    assert caught.value.status_code == 422
    assert "customData.ai_system" in str(caught.value.detail)


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_negative_example_is_refused_with_the_error_position(name: str) -> None:
    with pytest.raises(ProblemError) as caught:
        through_adapter(corpus_file(name), "system=support-summarizer&region=EU")
    assert caught.value.status_code == 400
    assert "line" in str(caught.value.detail)
    assert caught.value.extensions["line"] >= 1
