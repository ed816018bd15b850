"""`aigov waiver request|grant|reject` against the real intake."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aigov_events.topics import LIFECYCLE
from tests.unit.cli.conftest import Aigov, Intake, example, new_system
from tests.unit.cli.servers import APPROVER


def request_waiver(aigov: Aigov, system: str, *extra: str) -> str:
    """Request a waiver with flags; return its id."""
    result = aigov(
        "waiver",
        "request",
        "--system",
        system,
        "--version",
        "2026.11.3",
        "--control",
        "evaluation.prompt_injection",
        "--justification",
        "Fix ships next update.",
        "--compensating-control",
        "input filtering",
        "--expires",
        "30d",
        "--json",
        *extra,
    )
    assert result.exit_code == 0, result.output
    waiver_id: str = json.loads(result.stdout)["waiver_id"]
    return waiver_id


class TestWaivers:
    def test_request_then_grant(self, aigov: Aigov, intake: Intake) -> None:
        system = new_system()
        waiver_id = request_waiver(aigov, system)
        result = aigov("waiver", "grant", waiver_id, "--rationale", "Compensated.", token=APPROVER)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"waiver {waiver_id} granted for {system}")
        requested, granted = intake.events(LIFECYCLE, system=system, count=2)
        assert (requested.event_type, granted.event_type) == (
            "io.aigov.waiver.requested.v1",
            "io.aigov.waiver.granted.v1",
        )
        expires = datetime.fromisoformat(requested.data["expires_at"])
        assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
        assert granted.data["waiver_id"] == waiver_id

    def test_reject_and_the_public_example_file(
        self, aigov: Aigov, intake: Intake, tmp_path: Path
    ) -> None:
        system = new_system()
        future = (datetime.now(UTC) + timedelta(days=7)).isoformat()
        body = example("waiver-request.json", tmp_path, system=system, expires_at=future)
        requested = aigov("waiver", "request", "-f", str(body), "--json")
        assert requested.exit_code == 0, requested.output
        waiver_id = json.loads(requested.stdout)["waiver_id"]
        rejected = aigov("waiver", "reject", waiver_id, "--rationale", "Too risky.", token=APPROVER)
        assert rejected.exit_code == 0, rejected.output
        assert intake.events(LIFECYCLE, system=system, count=2)[-1].event_type == (
            "io.aigov.waiver.rejected.v1"
        )

    def test_a_retried_request_gets_the_same_waiver_id(self, aigov: Aigov) -> None:
        system = new_system()
        key = f"{system}-waiver"
        first = request_waiver(aigov, system, "--idempotency-key", key)
        assert request_waiver(aigov, system, "--idempotency-key", key) == first


class TestWaiverErrors:
    def test_an_unknown_waiver(self, aigov: Aigov) -> None:
        result = aigov("waiver", "grant", "W-NOSUCH0000", "--rationale", "x", token=APPROVER)
        assert result.exit_code == 2
        assert "404 no waiver 'W-NOSUCH0000' was requested through intake" in result.stderr

    def test_a_second_decision_conflicts(self, aigov: Aigov) -> None:
        waiver_id = request_waiver(aigov, new_system())
        assert (
            aigov("waiver", "grant", waiver_id, "--rationale", "ok", token=APPROVER).exit_code == 0
        )
        again = aigov("waiver", "reject", waiver_id, "--rationale", "no", token=APPROVER)
        assert again.exit_code == 2
        assert ": 409 " in again.stderr
        assert "cannot become rejected" in again.stderr

    def test_an_expiry_in_the_past(self, aigov: Aigov) -> None:
        result = aigov(
            "waiver",
            "request",
            "--system",
            new_system(),
            "--version",
            "1",
            "--control",
            "evaluation.prompt_injection",
            "--justification",
            "j",
            "--expires",
            "2020-01-01T00:00:00Z",
        )
        assert result.exit_code == 2
        assert "  - expires_at: must be in the future" in result.stderr

    def test_an_expiry_that_is_neither_time_nor_duration(self, aigov: Aigov) -> None:
        result = aigov("waiver", "request", "--expires", "next week")
        assert result.exit_code == 2
        assert "--expires: 'next week' is neither a time" in result.stderr

    def test_the_rationale_is_required(self, aigov: Aigov) -> None:
        result = aigov("waiver", "grant", "W-1", token=APPROVER)
        assert result.exit_code == 2
        assert "Missing option '--rationale'" in result.stderr
