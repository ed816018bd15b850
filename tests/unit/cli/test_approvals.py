"""`aigov approve` against the real intake."""

from __future__ import annotations

from pathlib import Path

from aigov_events.topics import LIFECYCLE
from tests.unit.cli.conftest import Aigov, Intake, example, new_system
from tests.unit.cli.servers import APPROVER


def submit_release(aigov: Aigov, system: str, tmp_path: Path) -> None:
    """Evidence from the CI bot, so the release has a submitter other than the approver."""
    body = example("evaluation.json", tmp_path, system=system)
    assert aigov("emit", "evaluation", "-f", str(body)).exit_code == 0


class TestApprove:
    def test_an_approver_grants_a_release(
        self, aigov: Aigov, intake: Intake, tmp_path: Path
    ) -> None:
        system = new_system()
        submit_release(aigov, system, tmp_path)
        result = aigov(
            "approve",
            "--system",
            system,
            "--version",
            "2026.11.3",
            "--rationale",
            "Evaluation meets the minimums.",
            "--evidence",
            "run 8812",
            token=APPROVER,
        )
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"accepted approval.granted for {system}")
        approval = intake.events(LIFECYCLE, system=system, count=2)[-1]
        assert approval.event_type == "io.aigov.approval.granted.v1"
        assert approval.data["evidence"] == ["run 8812"]

    def test_deny_and_the_public_example_file(
        self, aigov: Aigov, intake: Intake, tmp_path: Path
    ) -> None:
        system = new_system()
        submit_release(aigov, system, tmp_path)
        body = example("approval.json", tmp_path, system=system)
        result = aigov("approve", "-f", str(body), "--deny", token=APPROVER)
        assert result.exit_code == 0, result.output
        assert intake.events(LIFECYCLE, system=system, count=2)[-1].event_type == (
            "io.aigov.approval.denied.v1"
        )


class TestApproveErrors:
    def test_the_submitter_cannot_approve_its_own_release(
        self, aigov: Aigov, tmp_path: Path
    ) -> None:
        system = new_system()
        submit_release(aigov, system, tmp_path)
        # The publisher token of the CI bot holds no approver role.
        result = aigov("approve", "--system", system, "--version", "2026.11.3", "--rationale", "ok")
        assert result.exit_code == 2
        assert ": 403 " in result.stderr

    def test_a_rationale_is_required(self, aigov: Aigov) -> None:
        result = aigov("approve", "--system", "s", "--version", "1", token=APPROVER)
        assert result.exit_code == 2
        assert "missing --rationale" in result.stderr
