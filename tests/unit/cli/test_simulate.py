"""`aigov simulate` against the real tiering service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.cli.conftest import EXAMPLES, Aigov

SUPPORT = EXAMPLES / "systems" / "support-summarizer.yaml"


@pytest.fixture
def simulate(aigov: Aigov, tiering_url: str) -> Aigov:
    """The CLI with tiering at its own URL (as with `make up`), intake elsewhere."""
    return Aigov(env={**aigov.env, "AIGOV_TIERING_URL": tiering_url})


def widened(tmp_path: Path) -> Path:
    """The support summarizer, newly served to the public in more regions (material)."""
    text = SUPPORT.read_text().replace("regions: [EU, US]", "regions: [EU, US, APAC]")
    path = tmp_path / "new.yaml"
    path.write_text(text)
    return path


class TestSimulate:
    @pytest.mark.parametrize(
        ("name", "tier"),
        [("support-summarizer", "high"), ("code-assistant", "low"), ("resume-screener", "high")],
    )
    def test_the_public_manifests(self, simulate: Aigov, name: str, tier: str) -> None:
        result = simulate("simulate", "-f", str(EXAMPLES / "systems" / f"{name}.yaml"))
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"Tier: {tier} (policy ")
        assert "Required controls (" in result.stdout

    def test_json_output(self, simulate: Aigov) -> None:
        result = simulate("simulate", "-f", str(SUPPORT), "--json")
        answer = json.loads(result.stdout)
        assert answer["tier"] == "high"
        assert {c["control_id"] for c in answer["required_controls"]}

    def test_a_material_change_against_previous(self, simulate: Aigov, tmp_path: Path) -> None:
        result = simulate("simulate", "-f", str(widened(tmp_path)), "--previous", str(SUPPORT))
        assert result.exit_code == 0, result.output
        assert "Material change against --previous" in result.stdout
        assert "material: yes — needs a new approval" in result.stdout
        assert "spec.deployment.regions" in result.stdout

    def test_fail_on_material_change_exits_1(self, simulate: Aigov, tmp_path: Path) -> None:
        args = ["simulate", "-f", str(widened(tmp_path)), "--previous", str(SUPPORT)]
        assert simulate(*args, "--fail-on-material-change").exit_code == 1
        same = simulate(
            "simulate", "-f", str(SUPPORT), "--previous", str(SUPPORT), "--fail-on-material-change"
        )
        assert same.exit_code == 0
        assert "material: no" in same.stdout


class TestSimulateErrors:
    def test_an_invalid_manifest_lists_the_fields(self, simulate: Aigov, tmp_path: Path) -> None:
        path = tmp_path / "bad.yaml"
        path.write_text(SUPPORT.read_text().replace("type: llm", "type: 42"))
        result = simulate("simulate", "-f", str(path))
        assert result.exit_code == 2
        assert "tiering refused POST" in result.stderr
        assert ": 422 " in result.stderr
        assert "spec.model.type" in result.stderr

    def test_tiering_at_the_wrong_url(self, aigov: Aigov) -> None:
        # Intake serves no /v1/tiering routes: the hint names the setting to fix.
        result = aigov("simulate", "-f", str(SUPPORT))
        assert result.exit_code == 2
        assert ": 404 " in result.stderr
        assert "set AIGOV_TIERING_URL if tiering runs elsewhere" in result.stderr
