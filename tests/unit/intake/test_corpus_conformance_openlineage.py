"""Real OpenLineage payloads (tests/fixtures/corpus/openlineage) through the adapter.

Each published example must map to the lineage record described here or be acknowledged as
ignored, bare and inside an EventBridge envelope; the `NEGATIVE_*` one must be refused with
the position of its JSON error. A corpus file missing from the table fails the suite.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import pytest
from starlette.requests import Request

from aigov_events.catalog import LineageRecorded
from aigov_intake.adapters import Outcome, ignored, openlineage
from aigov_intake.attribution import resolve_system
from aigov_intake.bodies import parse_json
from aigov_runtime.errors import ProblemError
from tests.fixtures import CORPUS

FOLDER: Final = CORPUS / "openlineage"

#: file -> (run_state, run_id or None for an aigov-issued one, inputs, outputs, event_time),
#: or "ignored".
EXPECTED: Final[dict[str, tuple[str | None, str | None, int, int, datetime] | str]] = {
    "client_python_example_full_event.json": (
        "COMPLETE",
        "ea041791-68bc-4ae1-bd89-4c8106a157e4",
        1,
        1,
        datetime(2020, 12, 28, 19, 51, 1, 641000, tzinfo=UTC),
    ),
    # Naive eventTime: read as UTC.
    "client_python_serde_example_run_event.json": (
        "START",
        "69f4acab-b87d-4fc0-b27b-8ea950370ff3",
        0,
        0,
        datetime(2021, 11, 3, 10, 53, 52, 427343, tzinfo=UTC),
    ),
    "client_python_serde_example_job_event.json": (
        None,
        None,
        1,
        1,
        datetime(2021, 11, 3, 10, 53, 52, 427343, tzinfo=UTC),
    ),
    "docs_examples_start_single_input.json": (
        "START",
        "d46e465b-d358-4d32-83d4-df660ff614dd",
        1,
        0,
        datetime(2020, 12, 28, 9, 52, 0, 1000, tzinfo=UTC),
    ),
    "docs_examples_complete_dataset_facets.json": (
        "COMPLETE",
        "d46e465b-d358-4d32-83d4-df660ff614dd",
        0,
        1,
        datetime(2020, 12, 28, 10, 52, 0, 1000, tzinfo=UTC),
    ),
    "client_python_serde_example_dataset_event.json": "ignored",
}
NEGATIVE: Final = frozenset({"NEGATIVE_docs_examples_start_with_facets_invalid_json.json"})


def corpus_file(name: str) -> bytes:
    """The raw bytes of a corpus file; the corpus is part of the test contract, never skipped."""
    assert FOLDER.is_dir(), f"the vendored payload corpus is missing: expected {FOLDER}"
    return (FOLDER / name).read_bytes()


def through_adapter(body: Any, query: str) -> Outcome:
    """What the webhook route does with a parsed body, minus auth and publishing."""
    received = openlineage.receive(body)
    reason = openlineage.ignore_reason(received)
    if reason is not None:
        return ignored(openlineage.describe(received), reason)
    request = Request({"type": "http", "query_string": query.encode(), "headers": []})
    system_id = resolve_system(
        request, openlineage.named_systems(received), looked_in=openlineage.LOOKED_IN
    )
    return openlineage.to_outcome(received, system_id=system_id)


def eventbridge(detail: Any) -> dict[str, Any]:
    """`detail` wrapped as an EventBridge event."""
    return {
        "version": "0",
        "id": "1",
        "detail-type": "OpenLineage",
        "source": "x",
        "detail": detail,
    }


def test_every_corpus_file_is_classified() -> None:
    assert FOLDER.is_dir(), f"the vendored payload corpus is missing: expected {FOLDER}"
    assert {p.name for p in FOLDER.glob("*.json")} == set(EXPECTED) | NEGATIVE


@pytest.mark.parametrize("wrap", [False, True], ids=["bare", "eventbridge"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_published_example_maps_to_the_expected_record(name: str, wrap: bool) -> None:
    body = parse_json(corpus_file(name))
    outcome = through_adapter(eventbridge(body) if wrap else body, "system=resume-screener")
    expected = EXPECTED[name]
    if isinstance(expected, str):  # "ignored"
        assert outcome.drafts == []
        assert outcome.ignored[0].ref.startswith("DatasetEvent")
        return
    run_state, run_id, inputs, outputs, event_time = expected
    [draft] = outcome.drafts
    record = draft.payload
    assert isinstance(record, LineageRecorded)
    assert record.system_id == "resume-screener"
    assert (record.run_state.value if record.run_state else None) == run_state
    assert record.run_id == (run_id or f"job-{draft.event_id}")
    assert (len(record.inputs), len(record.outputs)) == (inputs, outputs)
    assert record.event_time == event_time
    assert record.job.name == body["job"]["name"]


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e != "ignored"))
def test_published_example_without_a_system_is_refused(name: str) -> None:
    with pytest.raises(ProblemError) as caught:
        through_adapter(parse_json(corpus_file(name)), "")
    assert caught.value.status_code == 422
    assert "ai_system" in str(caught.value.detail)


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_negative_example_is_refused_with_the_error_position(name: str) -> None:
    with pytest.raises(ProblemError) as caught:
        parse_json(corpus_file(name))
    assert caught.value.status_code == 400
    assert caught.value.extensions["line"] == 6  # the missing comma after runId
