"""A release through the real intake, tiering and evidence: register, send evidence, ask the gate.

The three services run as separate processes on one embedded bus (as `make run` does in one
process), each on its own port, so the CLI's per-service URLs are exercised too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.cli.conftest import Aigov, Platform, manifest, new_system
from tests.unit.cli.servers import APPROVER

VERSION = "2026.12.0"
#: The default policy's low tier requires these two documents (see policies/default).
MODEL_CARD = ["intended_use=Review hints", "limitations=Misses context", "evaluation=See run 1"]
VENDOR = ["vendor=self-hosted", "data_handling=In-house", "contractual_terms=None", "risks=Low"]


@pytest.fixture
def release(platform: Platform, tmp_path: Path) -> Aigov:
    """The CLI with one URL per service and a private state file."""
    return Aigov(
        env={
            "AIGOV_INTAKE_URL": platform.urls["intake"],
            "AIGOV_TIERING_URL": platform.urls["tiering"],
            "AIGOV_EVIDENCE_URL": platform.urls["evidence"],
            "AIGOV_STATE_FILE": str(tmp_path / "emitted.json"),
        }
    )


def register_low_tier_system(release: Aigov, tmp_path: Path) -> str:
    """Register the code assistant (tier low) under a fresh id."""
    system = new_system()
    path = manifest(tmp_path, system, "code-assistant.yaml")
    assert release("systems", "register", "-f", str(path)).exit_code == 0
    return system


def submit(release: Aigov, system: str, kind: str, sections: list[str]) -> None:
    """Attach a document of `kind` with `sections` to the release."""
    flags = [arg for section in sections for arg in ("--section", section)]
    result = release(
        "emit", "artifact", "--system", system, "--version", VERSION, "--kind", kind,
        "--title", kind, "--uri", f"https://docs.example.com/{kind}", "--sha256", "ab" * 32,
        *flags,
    )  # fmt: skip
    assert result.exit_code == 0, result.output


class TestReleaseFlow:
    def test_complete_evidence_is_allowed(self, release: Aigov, tmp_path: Path) -> None:
        system = register_low_tier_system(release, tmp_path)
        submit(release, system, "model_card", MODEL_CARD)
        submit(release, system, "vendor_assessment", VENDOR)
        result = release("gate", "--system", system, "--version", VERSION, "--wait", "90s")
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"Release {system} {VERSION}: ALLOW")
        assert result.stdout.splitlines()[1].split() == ["tier", "low"]
        assert "all 3 event(s) of this release are recorded" in result.stderr

    def test_a_missing_control_denies_until_waived(self, release: Aigov, tmp_path: Path) -> None:
        system = register_low_tier_system(release, tmp_path)
        submit(release, system, "model_card", MODEL_CARD)
        gate = ["gate", "--system", system, "--version", VERSION, "--wait", "90s"]
        denied = release(*gate, "--json")
        assert denied.exit_code == 1, denied.output
        answer = json.loads(denied.stdout)
        assert [m["control_id"] for m in answer["missing_controls"]] == [
            "governance.vendor_assessment"
        ]
        requested = release(
            "waiver", "request", "--system", system, "--version", VERSION,
            "--control", "governance.vendor_assessment", "--justification", "Self-hosted model.",
            "--expires", "30d", "--json",
        )  # fmt: skip
        assert requested.exit_code == 0, requested.output
        waiver_id = json.loads(requested.stdout)["waiver_id"]
        granted = release("waiver", "grant", waiver_id, "--rationale", "No vendor.", token=APPROVER)
        assert granted.exit_code == 0, granted.output
        allowed = release(*gate)
        assert allowed.exit_code == 0, allowed.output
        assert "Waived controls (1)" in allowed.stdout
        assert waiver_id in allowed.stdout
