"""`aigov probe run|show` against the real monitoring router (its shipped default routing)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.unit.cli.conftest import Aigov, Platform, manifest, new_system
from tests.unit.cli.servers import READER


@pytest.fixture
def probing(platform: Platform, router_url: str, tmp_path: Path) -> Aigov:
    """The CLI with intake and the router at their own URLs (`--router-url` as `make up`)."""
    return Aigov(
        env={
            "AIGOV_URL": platform.urls["intake"],
            "AIGOV_EVIDENCE_URL": platform.urls["evidence"],
            "AIGOV_ROUTER_URL": router_url,
            "AIGOV_STATE_FILE": str(tmp_path / "emitted.json"),
        }
    )


def probe_when_known(probing: Aigov, system: str) -> list[dict[str, object]]:
    """`probe run --wait` once the router has consumed the system's tier (it learns it async)."""
    deadline = time.monotonic() + 60
    while True:
        ran = probing("probe", "run", system, "--wait", "30s", "-o", "json")
        probes: list[dict[str, object]] = json.loads(ran.stdout)
        unknown = any("not known to the router" in str(p["detail"]) for p in probes)
        if not unknown or time.monotonic() > deadline:
            assert ran.exit_code == 0, ran.output
            return probes
        time.sleep(0.5)


class TestProbes:
    def test_run_waits_for_the_outcome_then_show_lists_it(
        self, probing: Aigov, tmp_path: Path
    ) -> None:
        system = new_system()
        path = manifest(tmp_path, system)
        assert probing("systems", "register", "-f", str(path)).exit_code == 0
        probes = probe_when_known(probing, system)
        assert probes
        assert all(p["ok"] is True for p in probes), probes
        shown = probing("probe", "show", system, token=READER)
        assert shown.exit_code == 0, shown.output
        header = shown.stdout.splitlines()[0].split()
        assert header[:4] == ["PROBE", "SIGNAL", "STARTED", "AT"]
        for probe in probes:
            line = next(
                x for x in shown.stdout.splitlines() if x.startswith(str(probe["probe_id"]))
            )
            assert line.split()[1:4:2] == [probe["signal"], "passed"]

    def test_run_without_wait_returns_at_once(self, probing: Aigov) -> None:
        system = new_system()
        ran = probing("probe", "run", system)
        assert ran.exit_code == 0, ran.output
        assert ran.stdout.splitlines()[0].split()[:2] == ["PROBE", "SIGNAL"]
        assert "other" in ran.stdout  # no monitoring signals known: the generic probe

    def test_a_failed_probe_exits_1_with_its_detail(self, probing: Aigov) -> None:
        system = new_system()  # never registered: the router has no route facts for it
        ran = probing("probe", "run", system, "--wait", "10s")
        assert ran.exit_code == 1, ran.output
        cells = ran.stdout.splitlines()[1].split()
        assert cells[1] == "other"
        assert "failed" in cells
        assert f"system '{system}' is not known to the router" in ran.stdout

    def test_show_before_any_run(self, probing: Aigov) -> None:
        system = new_system()
        shown = probing("probe", "show", system, token=READER)
        assert shown.exit_code == 0, shown.output
        assert (
            shown.stdout.strip()
            == f"No probe runs of {system} yet: run `aigov probe run {system}`."
        )

    def test_running_needs_the_owner_role(self, probing: Aigov) -> None:
        result = probing("probe", "run", new_system(), token=READER)
        assert result.exit_code == 2
        assert "lacks a required role (one of: owner)" in result.stderr
        assert "router refused POST" in result.stderr
