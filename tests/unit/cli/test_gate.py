"""`aigov gate`: rendering, exit codes and waiting, against a scripted evidence stand-in.

The gate's logic lives in the evidence service; here what matters is what the CLI does
with its answers: 0 on allow, 1 on deny, 2 on errors, waiting for this pipeline's own
events first, progress while waiting, and a timeout that says what to do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from aigov_cli import emitted
from aigov_cli.gate import Progress
from tests.unit.cli.conftest import Aigov
from tests.unit.cli.fake_evidence import ALLOW, DENY, UNTIERED, FakeEvidence, fake_evidence
from tests.unit.cli.servers import PUBLISHER

RELEASE = ["--system", "support-summarizer", "--version", "2026.11.3"]


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


def remember(
    tmp_path: Path,
    event_id: str,
    *,
    event_type: str = "io.aigov.evaluation.completed.v1",
    version: str | None = "2026.11.3",
    system: str = "support-summarizer",
) -> None:
    """Record an emitted event as `aigov emit` would."""
    emitted.remember(
        tmp_path / "emitted.json",
        event_id=event_id,
        event_type=event_type,
        system=system,
        version=version,
    )


class TestDecision:
    def test_allow_exits_0_with_a_table(self, gate: Aigov, evidence: FakeEvidence) -> None:
        result = gate("gate", *RELEASE)
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert lines[0] == "Release support-summarizer 2026.11.3: ALLOW"
        assert lines[1].split() == ["tier", "high"]
        assert "Decision recorded as event 0195a6f2-gate." in result.stdout
        assert evidence.authorizations == {f"Bearer {PUBLISHER}"}

    def test_deny_exits_1_listing_what_is_missing(
        self, gate: Aigov, evidence: FakeEvidence
    ) -> None:
        evidence.gate_answers = [DENY]
        result = gate("gate", *RELEASE)
        assert result.exit_code == 1
        assert "Release support-summarizer 2026.11.3: DENY" in result.stdout
        assert "Missing controls (2)" in result.stdout
        row = next(
            line for line in result.stdout.splitlines() if "evaluation.prompt_injection" in line
        )
        assert row.split(maxsplit=1) == [
            "evaluation.prompt_injection",
            "prompt_injection_success_rate 0.09 is not <= 0.05",
        ]
        assert "W-7K3M9Q2X4B" in result.stdout
        assert "2026-12-26T00:00:00Z" in result.stdout
        assert "  - Request a waiver or improve prompt injection resistance" in result.stdout

    def test_pending_waiver_requests_are_listed(self, gate: Aigov, evidence: FakeEvidence) -> None:
        pending = {
            "waiver_id": "W-PENDING000",
            "control_id": "evaluation.prompt_injection",
            "requested_by": "ci-bot",
            "requested_at": "2026-11-26T16:00:00Z",
            "expires_at": "2026-12-26T00:00:00Z",
        }
        evidence.gate_answers = [{**DENY, "pending_waivers": [pending]}]
        result = gate("gate", *RELEASE)
        assert result.exit_code == 1
        lines = result.stdout.splitlines()
        title = lines.index("Waiver requests awaiting an approver (1)")
        assert lines[title + 1].split() == [
            "WAIVER", "CONTROL", "REQUESTED", "BY", "REQUESTED", "AT", "EXPIRES",
        ]  # fmt: skip
        assert lines[title + 2].split() == [
            "W-PENDING000",
            "evaluation.prompt_injection",
            "ci-bot",
            "2026-11-26T16:00:00Z",
            "2026-12-26T00:00:00Z",
        ]

    def test_older_servers_without_pending_waivers(
        self, gate: Aigov, evidence: FakeEvidence
    ) -> None:
        evidence.gate_answers = [DENY]
        assert "pending_waivers" not in DENY
        result = gate("gate", *RELEASE)
        assert result.exit_code == 1
        assert "Waiver requests awaiting" not in result.stdout

    def test_json_output_keeps_the_exit_code(self, gate: Aigov, evidence: FakeEvidence) -> None:
        evidence.gate_answers = [DENY]
        result = gate("gate", *RELEASE, "--json")
        assert result.exit_code == 1
        assert (
            json.loads(result.stdout)["missing_controls"][0]["control_id"]
            == "evaluation.prompt_injection"
        )

    def test_unknown_fields_and_shapes_are_shown_not_fatal(
        self, gate: Aigov, evidence: FakeEvidence
    ) -> None:
        evidence.gate_answers = [
            {
                "decision": "deny",
                "missing_controls": [{"id": "x.y", "reason": "r"}],
                "waived_controls": ["W-1"],
            }
        ]
        result = gate("gate", *RELEASE)
        assert result.exit_code == 1
        assert "x.y" in result.stdout
        assert "W-1" in result.stdout

    def test_the_decision_is_recorded_as_ci_acts_on_it(
        self, gate: Aigov, evidence: FakeEvidence
    ) -> None:
        result = gate("gate", *RELEASE)
        assert result.exit_code == 0, result.output
        assert evidence.requests == ["/v1/gate/decisions"]
        assert evidence.recorded == [{"system": "support-summarizer", "version": "2026.11.3"}]

    def test_no_record_only_reads_and_keeps_the_exit_code(
        self, gate: Aigov, evidence: FakeEvidence
    ) -> None:
        evidence.gate_answers = [DENY]
        result = gate("gate", *RELEASE, "--no-record")
        assert result.exit_code == 1, result.output
        assert evidence.requests == ["/v1/gate?system=support-summarizer&version=2026.11.3"]
        assert evidence.recorded == []
        assert "Decision recorded" not in result.stdout
        assert "Missing controls (2)" in result.stdout

    def test_an_answer_without_a_decision_is_an_error(
        self, gate: Aigov, evidence: FakeEvidence
    ) -> None:
        evidence.gate_answers = [{"status": "ok"}]
        result = gate("gate", *RELEASE)
        assert result.exit_code == 2
        assert "without an allow/deny decision" in result.stderr


class TestWaiting:
    def test_waits_for_the_events_this_pipeline_emitted(
        self, gate: Aigov, evidence: FakeEvidence, tmp_path: Path
    ) -> None:
        remember(tmp_path, "ev-eval")
        remember(tmp_path, "ev-system", event_type="io.aigov.system.registered.v1", version=None)
        remember(tmp_path, "ev-other-system", system="code-assistant")
        # Older CLIs kept every release in the file; the gate still waits only for its own.
        state = tmp_path / "emitted.json"
        document = json.loads(state.read_text())
        document["events"].append({**document["events"][0], "event_id": "ev-other-release"})
        document["events"][-1]["version"] = "2026.10.1"
        state.write_text(json.dumps(document))
        evidence.recorded_after = {
            "ev-eval": 2,
            "ev-system": 0,
            "ev-other-release": 0,
            "ev-other-system": 0,
        }
        result = gate("gate", *RELEASE, "--wait", "30s")
        assert result.exit_code == 0, result.output
        assert evidence.polls("ev-eval") == 3
        assert evidence.polls("ev-system") == 1  # recorded at once, not asked again
        assert evidence.polls("ev-other-release") == evidence.polls("ev-other-system") == 0
        assert "waiting for evidence to record 1/2 event(s)" in result.stderr
        assert "all 2 event(s) of this release are recorded" in result.stderr
        assert evidence.requests[-1] == "/v1/gate/decisions"
        assert evidence.recorded[-1] == {"system": "support-summarizer", "version": "2026.11.3"}

    def test_event_ids_from_flags(self, gate: Aigov, evidence: FakeEvidence) -> None:
        evidence.recorded_after = {"from/another runner": 1}
        result = gate("gate", *RELEASE, "--wait", "30", "--event-id", "from/another runner")
        assert result.exit_code == 0, result.output
        assert "/v1/events/from%2Fanother%20runner" in evidence.requests

    def test_without_wait_the_gate_is_asked_at_once(
        self, gate: Aigov, evidence: FakeEvidence, tmp_path: Path
    ) -> None:
        remember(tmp_path, "ev-never")
        assert gate("gate", *RELEASE).exit_code == 0
        assert evidence.polls("ev-never") == 0

    def test_timeout_exits_2_naming_the_missing_events(
        self, gate: Aigov, evidence: FakeEvidence, tmp_path: Path
    ) -> None:
        remember(tmp_path, "ev-lost")
        result = gate("gate", *RELEASE, "--wait", "1s")
        assert result.exit_code == 2
        assert (
            "timed out after 1s: 1 of 1 event(s) are not recorded by evidence yet: ev-lost"
            in result.stderr
        )
        assert "--wait" in result.stderr
        assert not any(r.startswith("/v1/gate") for r in evidence.requests)

    def test_a_system_registered_here_is_awaited_until_tiered(
        self, gate: Aigov, evidence: FakeEvidence, tmp_path: Path
    ) -> None:
        remember(tmp_path, "ev-system", event_type="io.aigov.system.registered.v1", version=None)
        evidence.recorded_after = {"ev-system": 0}
        evidence.gate_answers = [UNTIERED, UNTIERED, ALLOW]
        result = gate("gate", *RELEASE, "--wait", "30s")
        assert result.exit_code == 0, result.output
        assert sum(r.startswith("/v1/gate") for r in evidence.requests) == 3

    def test_untiered_without_a_registration_here_is_answered_at_once(
        self, gate: Aigov, evidence: FakeEvidence
    ) -> None:
        evidence.gate_answers = [UNTIERED, ALLOW]
        result = gate("gate", *RELEASE, "--wait", "30s")
        assert result.exit_code == 1
        assert "not tiered yet" in result.stdout


class TestProgress:
    def test_a_terminal_gets_one_rewritten_line(self, capsys: pytest.CaptureFixture[str]) -> None:
        clock = iter([0.0, 1.0, 12.0]).__next__
        progress = Progress(interactive=True, clock=clock)
        progress.show("waiting for 0/2")
        progress.show("waiting 1/2")
        progress.done("done")
        assert capsys.readouterr().err == (
            "\rwaiting for 0/2 (1s)\rwaiting 1/2 (12s)   \r" + " " * 17 + "\rdone\n"
        )

    def test_a_ci_log_gets_a_line_every_five_seconds(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        times = iter([0.0, 0.5, 3.0, 5.5, 7.0, 11.0])
        progress = Progress(interactive=False, clock=times.__next__)
        for _ in range(5):
            progress.show("waiting")
        assert capsys.readouterr().err.splitlines() == [
            "waiting (0s)",
            "waiting (6s)",
            "waiting (11s)",
        ]


class TestGateErrors:
    def test_event_ids_without_wait(self, gate: Aigov) -> None:
        result = gate("gate", *RELEASE, "--event-id", "e1")
        assert result.exit_code == 2
        assert "--event-id needs --wait" in result.stderr

    def test_a_bad_wait_duration(self, gate: Aigov) -> None:
        result = gate("gate", *RELEASE, "--wait", "soon")
        assert result.exit_code == 2
        assert "'soon' is not a duration: use e.g. 60s, 5m, 1h or 30d" in result.stderr

    def test_system_and_version_are_required(self, gate: Aigov) -> None:
        result = gate("gate", "--system", "s")
        assert result.exit_code == 2
        assert "Missing option '--version'" in result.stderr

    def test_the_service_keeps_failing(self, gate: Aigov, evidence: FakeEvidence) -> None:
        evidence.gate_status = 503
        result = gate("gate", *RELEASE)
        assert result.exit_code == 2
        assert "evidence refused POST" in result.stderr
        assert "503" in result.stderr
        assert sum(r.startswith("/v1/gate") for r in evidence.requests) == 4  # retried first

    def test_an_unreadable_state_file(self, gate: Aigov, tmp_path: Path) -> None:
        (tmp_path / "emitted.json").write_text("{not json")
        result = gate("gate", *RELEASE, "--wait", "5s")
        assert result.exit_code == 2
        assert "the state file" in result.stderr
        assert "delete it, or pass --event-id" in result.stderr
