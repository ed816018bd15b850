"""`.aigov/emitted.json` keeps each system's current release only."""

from __future__ import annotations

import json
from pathlib import Path

from aigov_cli import emitted
from tests.unit.cli.conftest import Aigov, example, new_system


def remember(path: Path, event_id: str, system: str, version: str | None) -> None:
    """Record an event as a command would."""
    emitted.remember(path, event_id=event_id, event_type="t", system=system, version=version)


def kept(path: Path) -> list[str]:
    """The ids the file holds, in order."""
    return [e.event_id for e in emitted.load(path)]


class TestCurrentRelease:
    def test_a_new_release_drops_the_systems_earlier_ones(self, tmp_path: Path) -> None:
        path = tmp_path / "emitted.json"
        remember(path, "old-register", "s", None)
        remember(path, "old-eval", "s", "1")
        remember(path, "old-grant", "s", None)  # a waiver decision of release 1, after its evidence
        remember(path, "other-eval", "t", "7")
        remember(path, "old-deploy", "s", "1")
        remember(
            path, "new-register", "s", None
        )  # this pipeline's registration, before its release
        remember(path, "new-eval", "s", "2")
        assert kept(path) == ["other-eval", "new-register", "new-eval"]
        remember(path, "new-artifact", "s", "2")
        assert kept(path) == ["other-eval", "new-register", "new-eval", "new-artifact"]

    def test_other_systems_keep_their_current_release(self, tmp_path: Path) -> None:
        path = tmp_path / "emitted.json"
        remember(path, "s1", "s", "1")
        remember(path, "t1", "t", "1")
        remember(path, "t2", "t", "2")
        assert kept(path) == ["s1", "t2"]

    def test_system_events_alone_drop_nothing(self, tmp_path: Path) -> None:
        path = tmp_path / "emitted.json"
        remember(path, "eval", "s", "1")
        remember(path, "grant", "s", None)
        assert kept(path) == ["eval", "grant"]

    def test_through_the_cli(self, aigov: Aigov, tmp_path: Path) -> None:
        system = new_system()
        for version in ("1.0.0", "1.0.0", "2.0.0"):
            body = example("evaluation.json", tmp_path, system=system, version=version)
            assert aigov("emit", "evaluation", "-f", str(body)).exit_code == 0
        state = json.loads((tmp_path / "emitted.json").read_text())["events"]
        assert [(e["system"], e["version"]) for e in state] == [(system, "2.0.0")]
