"""`aigov gate --wait` asks evidence for (source, id), as evidence identifies events.

Evidence answers `GET /v1/events/{id}` with 409 when two sources recorded one id; the CLI
keeps each emitted event's source (from intake's answer) in `.aigov/emitted.json` and sends
it as `?source=`. State files written before the source was kept still work: those events
are asked for by id alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from aigov_cli import emitted
from tests.unit.cli.conftest import Aigov, Intake, example, new_system
from tests.unit.cli.fake_evidence import FakeEvidence, fake_evidence

RELEASE = ["--system", "support-summarizer", "--version", "2026.11.3"]
TYPED_SOURCE = "/aigov/intake/evaluations"


@pytest.fixture
def evidence() -> Iterator[FakeEvidence]:
    """A scripted evidence stand-in on a free port."""
    with fake_evidence(FakeEvidence()) as fake:
        yield fake


@pytest.fixture
def gate(evidence: FakeEvidence, tmp_path: Path) -> Aigov:
    """The CLI with evidence at the stand-in's URL and a private state file."""
    return Aigov(
        env={"AIGOV_EVIDENCE_URL": evidence.url, "AIGOV_STATE_FILE": str(tmp_path / "emitted.json")}
    )


def event_polls(evidence: FakeEvidence) -> list[str]:
    """The event lookups the CLI sent, path and query."""
    return [r for r in evidence.requests if r.startswith("/v1/events/")]


def test_an_event_with_a_source_is_asked_for_with_it(
    gate: Aigov, evidence: FakeEvidence, tmp_path: Path
) -> None:
    emitted.remember(
        tmp_path / "emitted.json",
        event_id="ev-eval",
        event_type="io.aigov.evaluation.completed.v1",
        system="support-summarizer",
        version="2026.11.3",
        source=TYPED_SOURCE,
    )
    # Another source recorded "ev-eval" too: only (source, id) names this pipeline's event.
    evidence.ambiguous = {"ev-eval"}
    evidence.recorded_after = {"ev-eval": 0}
    result = gate("gate", *RELEASE, "--wait", "30")
    assert result.exit_code == 0, result.output
    assert event_polls(evidence) == ["/v1/events/ev-eval?source=%2Faigov%2Fintake%2Fevaluations"]


def test_an_old_state_file_without_sources_is_asked_by_id(
    gate: Aigov, evidence: FakeEvidence, tmp_path: Path
) -> None:
    old = {
        "events": [
            {
                "event_id": "ev-old",
                "event_type": "io.aigov.evaluation.completed.v1",
                "system": "support-summarizer",
                "version": "2026.11.3",
                "at": "2026-11-20T10:00:00+00:00",
            }
        ]
    }
    (tmp_path / "emitted.json").write_text(json.dumps(old))
    evidence.recorded_after = {"ev-old": 0}
    result = gate("gate", *RELEASE, "--wait", "30")
    assert result.exit_code == 0, result.output
    assert event_polls(evidence) == ["/v1/events/ev-old"]
    assert emitted.load(tmp_path / "emitted.json")[0].source is None


def test_an_ambiguous_id_without_a_source_says_so(gate: Aigov, evidence: FakeEvidence) -> None:
    evidence.ambiguous = {"ev-shared"}
    result = gate("gate", *RELEASE, "--wait", "30", "--event-id", "ev-shared")
    assert result.exit_code == 2
    assert "recorded from 2 sources" in result.output


def test_emitted_events_keep_intakes_source(aigov: Aigov, intake: Intake, tmp_path: Path) -> None:
    body = example("evaluation.json", tmp_path)
    result = aigov(
        "emit",
        "evaluation",
        "-f",
        str(body),
        "--system",
        new_system(),
        "--version",
        "1.0",
        "--json",
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["source"] == TYPED_SOURCE
    state = json.loads((tmp_path / "emitted.json").read_text())["events"]
    assert [(e["event_id"], e["source"]) for e in state] == [(answer["event_id"], TYPED_SOURCE)]
