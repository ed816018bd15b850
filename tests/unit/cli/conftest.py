"""Fixtures of the CLI tests: a real intake (and tiering) on local ports, and a CLI runner.

Intake runs in its embedded mode (SQLite + the embedded bus under a temporary directory),
served by uvicorn; tests assert on the events that reached the bus.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from aigov_cli.main import cli
from tests.fixtures import EXAMPLES as EXAMPLES  # re-exported: test modules import it from here
from tests.unit.cli.servers import PUBLISHER, Published, published, serve


@dataclass(frozen=True)
class Platform:
    """Intake, tiering and evidence running on one embedded bus, as the all-in-one does."""

    urls: dict[str, str]
    bus_path: Path

    @property
    def url(self) -> str:
        """Intake's URL (what most commands talk to)."""
        return self.urls["intake"]

    def events(self, topic: str, *, system: str, count: int = 1) -> list[Published]:
        """Events of `system` published on `topic`."""
        return published(self.bus_path, topic, system=system, count=count)


Intake = Platform
"""Tests that only talk to intake name the fixture by what they use."""


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The real services for the session (tests use fresh system ids, so they do not collide)."""
    tmp = tmp_path_factory.mktemp("platform")
    bus_path = tmp / "bus.sqlite3"
    modules = ["aigov_intake", "aigov_tiering", "aigov_evidence"]
    with serve(modules, tmp, bus_path=bus_path) as urls:
        yield Platform(urls=urls, bus_path=bus_path)


@pytest.fixture(scope="session")
def router_url(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The monitoring router on the platform's bus (started only for the tests that probe)."""
    with serve(
        ["aigov_monitoring_router"], tmp_path_factory.mktemp("router"), bus_path=platform.bus_path
    ) as urls:
        yield urls["monitoring_router"]


@pytest.fixture(scope="session")
def intake(platform: Platform) -> Platform:
    """The platform, used for its intake."""
    return platform


@pytest.fixture(scope="session")
def tiering_url(platform: Platform) -> str:
    """Tiering's own URL (as with `make up`, where each service has its port)."""
    return platform.urls["tiering"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The developer's AIGOV_*/CI variables and config file must not reach the CLI under test."""
    for name in list(os.environ):
        if name.startswith(("AIGOV_", "GITHUB_", "GITLAB_", "CI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)


@dataclass
class Aigov:
    """Runs `aigov` in-process against given servers, with a token and a state file."""

    env: dict[str, str] = field(default_factory=dict)

    def __call__(self, *args: str, token: str | None = PUBLISHER, **env: str) -> Result:
        """Run `aigov *args`; AIGOV_* from the fixture plus `env` (upper-cased)."""
        environment = {**self.env, **{k.upper(): v for k, v in env.items()}}
        if token is not None:
            environment["AIGOV_TOKEN"] = token
        return CliRunner().invoke(
            cli, list(args), env=environment, prog_name="aigov", catch_exceptions=False
        )


@pytest.fixture
def aigov(intake: Intake, tmp_path: Path) -> Aigov:
    """The CLI pointed at the real intake, with the publisher token and a private state file."""
    return Aigov(env={"AIGOV_URL": intake.url, "AIGOV_STATE_FILE": str(tmp_path / "emitted.json")})


def new_system() -> str:
    """A fresh AI system id, so tests sharing one intake never see each other's events."""
    return f"cli-{uuid.uuid4().hex[:10]}"


def example(name: str, tmp_path: Path, **changes: Any) -> Path:
    """A copy of a public request example with `changes`, written under tmp_path."""
    body = json.loads((EXAMPLES / "requests" / name).read_text())
    body.update(changes)
    path = tmp_path / name
    path.write_text(json.dumps(body))
    return path


def manifest(tmp_path: Path, system: str, name: str = "support-summarizer.yaml") -> Path:
    """A public example manifest under a fresh id (YAML text otherwise unchanged)."""
    text = (EXAMPLES / "systems" / name).read_text()
    original = name.removesuffix(".yaml")
    path = tmp_path / f"{system}.yaml"
    path.write_text(text.replace(f"id: {original}", f"id: {system}", 1))
    return path
