"""`aigov releases show` and `aigov controls`: a release's evidence, and where its controls stand."""

from __future__ import annotations

from urllib.parse import quote

import click

from aigov_cli import views
from aigov_cli.commands.options import output_option
from aigov_cli.errors import CliError
from aigov_cli.session import output, pass_session


@click.group()
def releases() -> None:
    """Releases: who submitted one, its deployments and evidence."""


@releases.command("show")
@click.argument("system")
@click.argument("version")
@output_option
@click.pass_context
def show_release(ctx: click.Context, system: str, version: str, output_format: str) -> None:
    """Show a release (GET /v1/releases/{system}/{version}): submitters, deployments, evidence."""
    path = f"/v1/releases/{quote(system, safe='')}/{quote(version, safe='')}"
    answer = pass_session(ctx).api().get("evidence", path).body
    output(answer, as_json=output_format == "json", text=views.release(answer))


@click.command("controls")
@click.argument("system")
@click.option(
    "--version",
    "release",
    metavar="VERSION",
    help="The release (default: the system's latest version in the inventory).",
)
@output_option
@click.pass_context
def controls(ctx: click.Context, system: str, release: str | None, output_format: str) -> None:
    """Show each control a release needs: satisfied (by which records), waived, or missing."""
    api = pass_session(ctx).api()
    system_path = f"/v1/systems/{quote(system, safe='')}"
    if release is None:
        latest = api.get("evidence", system_path).body
        release = latest.get("latest_version") if isinstance(latest, dict) else None
        if not isinstance(release, str) or not release:
            raise CliError(f"{system} has no release in the inventory yet: pass --version")
    answer = api.get("evidence", f"{system_path}/controls", params={"version": release}).body
    output(answer, as_json=output_format == "json", text=views.controls(answer))
