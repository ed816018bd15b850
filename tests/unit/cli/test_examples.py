"""The examples/ configs stay true: their `aigov` commands parse, their URLs are intake's routes."""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
import yaml

from aigov_cli.main import cli
from tests.unit.cli.conftest import Intake

EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples"
CI_FILES = [
    EXAMPLES_DIR / "github-actions" / "aigov-gate.yml",
    EXAMPLES_DIR / "gitlab-ci" / "aigov-gate.gitlab-ci.yml",
]
#: Values for the variables the examples use; anything else reads as "x".
VARIABLES = {"AI_SYSTEM": "support-summarizer", "RELEASE": "2026.11.3", "OUTCOME": "succeeded"}


def shell_commands(document: Any) -> list[str]:
    """Every string under a `run:` or `script:` key (GitHub steps, GitLab jobs)."""
    found: list[str] = []
    if isinstance(document, dict):
        for key, value in document.items():
            if key in ("run", "script", "before_script"):
                found += value if isinstance(value, list) else [value]
            else:
                found += shell_commands(value)
    elif isinstance(document, list):
        for item in document:
            found += shell_commands(item)
    return found


def aigov_invocations(path: Path) -> list[list[str]]:
    """The argument lists of every `aigov ...` command in a CI file, variables filled in."""
    invocations = []
    for command in shell_commands(yaml.safe_load(path.read_text())):
        for line in str(command).splitlines():
            line = line.strip()
            if line.startswith("aigov "):
                filled = re.sub(r"\$\{?(\w+)\}?", lambda m: VARIABLES.get(m.group(1), "x"), line)
                invocations.append(shlex.split(filled)[1:])
    return invocations


def unparsed(ctx: click.Context) -> list[str]:
    """The tokens a group left for its subcommand."""
    with warnings.catch_warnings():
        # Click 8.2+ deprecates `protected_args` (9.0 puts everything in `args`); until
        # then the subcommand's name is only there.
        warnings.simplefilter("ignore", DeprecationWarning)
        return [*ctx.protected_args, *ctx.args]


def parse(args: list[str]) -> list[str]:
    """Resolve `args` down to the leaf command (options checked, nothing run); its path."""
    ctx = cli.make_context("aigov", list(args))
    command: click.Command = cli
    path = []
    remaining = unparsed(ctx)
    while isinstance(command, click.Group):
        name, sub, remaining = command.resolve_command(ctx, remaining)
        assert sub is not None
        assert name is not None
        path.append(name)
        ctx = sub.make_context(name, remaining, parent=ctx)
        remaining = unparsed(ctx) if isinstance(sub, click.Group) else []
        command = sub
    return path


class TestCiExamples:
    @pytest.mark.parametrize("path", CI_FILES, ids=lambda p: p.parent.name)
    def test_every_aigov_command_parses(self, path: Path) -> None:
        commands = [parse(args) for args in aigov_invocations(path)]
        assert ["gate"] in commands
        assert ["emit", "evaluation"] in commands

    def test_the_gitlab_gate_job_gets_the_emitted_ids(self) -> None:
        document = yaml.safe_load(CI_FILES[1].read_text())
        assert ".aigov/emitted.json" in document["evaluate"]["artifacts"]["paths"]
        assert document["gate"]["needs"] == ["evaluate"]


class TestWebhookExamples:
    def test_the_urls_are_intake_routes(self, intake: Intake) -> None:
        routes = set(httpx.get(f"{intake.url}/openapi.json").json()["paths"])
        alertmanager = yaml.safe_load(
            (EXAMPLES_DIR / "alertmanager" / "alertmanager.yml").read_text()
        )
        urls = [c["url"] for r in alertmanager["receivers"] for c in r.get("webhook_configs", [])]
        lineage = yaml.safe_load((EXAMPLES_DIR / "openlineage" / "openlineage.yml").read_text())
        urls.append(f"{lineage['transport']['url']}/{lineage['transport']['endpoint']}")
        mlflow = (EXAMPLES_DIR / "mlflow" / "register-webhook.py").read_text()
        urls.append("https://aigov.example.com" + re.findall(r"/v1/webhooks/\w+", mlflow)[0])
        paths = {httpx.URL(url).path for url in urls}
        assert paths == {
            "/v1/webhooks/alertmanager",
            "/v1/webhooks/openlineage",
            "/v1/webhooks/mlflow",
        }
        assert paths <= routes
