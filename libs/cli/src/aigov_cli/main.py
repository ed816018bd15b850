"""The `aigov` command: the root group, its global options, and exit codes (0 ok, 1 deny, 2 error)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from aigov_cli import emitted
from aigov_cli.commands.approvals import approve
from aigov_cli.commands.emit import emit
from aigov_cli.commands.evidence import evidence, ledger
from aigov_cli.commands.gate import gate
from aigov_cli.commands.incidents import incidents
from aigov_cli.commands.probes import probe
from aigov_cli.commands.releases import controls, releases
from aigov_cli.commands.setup import completion, show_config
from aigov_cli.commands.simulate import simulate
from aigov_cli.commands.systems import systems
from aigov_cli.commands.waivers import waiver, waivers
from aigov_cli.errors import EXIT_ERROR
from aigov_cli.session import Session


class AigovGroup(click.Group):
    """A click group whose every failure exits 2, so exit 1 always means a denied gate."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the CLI; click's own 1s (abort, file errors) become 2."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            exc.show()
            sys.exit(EXIT_ERROR)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(EXIT_ERROR)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=AigovGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="aigov-cli", prog_name="aigov")
@click.option(
    "--url", metavar="URL", help="aigov base URL [env AIGOV_URL; default http://127.0.0.1:8080]."
)
@click.option(
    "--token",
    metavar="TOKEN",
    help="Bearer token [env AIGOV_TOKEN]. Prefer the variable: flags show in process lists.",
)
@click.option(
    "--intake-url", metavar="URL", help="Intake's URL if not --url [env AIGOV_INTAKE_URL]."
)
@click.option(
    "--tiering-url", metavar="URL", help="Tiering's URL if not --url [env AIGOV_TIERING_URL]."
)
@click.option(
    "--evidence-url", metavar="URL", help="Evidence's URL if not --url [env AIGOV_EVIDENCE_URL]."
)
@click.option(
    "--router-url",
    metavar="URL",
    help="The monitoring router's URL if not --url [env AIGOV_ROUTER_URL].",
)
@click.option(
    "--timeout", metavar="SECONDS", help="Per-request timeout [env AIGOV_TIMEOUT; default 30]."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file [env AIGOV_CONFIG; default ~/.config/aigov/config.yaml].",
)
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="AIGOV_STATE_FILE",
    default=emitted.DEFAULT_PATH,
    show_default=True,
    help="Where emitted event ids are remembered for `gate --wait` [env AIGOV_STATE_FILE].",
)
@click.pass_context
def cli(
    ctx: click.Context,
    url: str | None,
    token: str | None,
    intake_url: str | None,
    tiering_url: str | None,
    evidence_url: str | None,
    router_url: str | None,
    timeout: str | None,
    config_path: Path | None,
    state_file: Path,
) -> None:
    """aigov: register AI systems, send release evidence from CI, ask the release gate, and read
    the inventory, releases, waivers, incidents, evidence and probes.

    Exit codes: 0 success (gate: allow), 1 a "no" answer (gate deny, ledger verification
    failed, a probe failed), 2 any error.
    """
    flags = {
        "url": url,
        "token": token,
        "intake_url": intake_url,
        "tiering_url": tiering_url,
        "evidence_url": evidence_url,
        "router_url": router_url,
        "timeout": timeout,
    }
    # The CLI's output is its own: HTTP client libraries log each request at INFO, which a
    # host process (or a test session) with logging configured would otherwise mix into it.
    for library in ("httpx", "httpcore"):
        logging.getLogger(library).setLevel(logging.WARNING)
    ctx.obj = Session(flags=flags, config_path=config_path, state_file=state_file)


for command in (
    systems,
    simulate,
    emit,
    approve,
    waivers,
    waiver,
    gate,
    releases,
    controls,
    evidence,
    ledger,
    incidents,
    probe,
    completion,
    show_config,
):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="aigov")
