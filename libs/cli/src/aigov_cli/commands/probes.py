"""`aigov probe run|show`: send a system's synthetic probe alerts, and read how they fared.

A probe is a clearly labelled alert through the system's real routes to every receiver they
reach (the monitoring router's `POST /v1/probes/{system}`); its outcome is known once every
delivery reached a final state. A passed probe is the evidence the monitoring controls ask for.
"""

from __future__ import annotations

import sys
import time
from typing import Any
from urllib.parse import quote

import click

from aigov_cli import views
from aigov_cli.api import Api
from aigov_cli.commands.options import output_option
from aigov_cli.errors import EXIT_DENY
from aigov_cli.gate import Progress, Waiter
from aigov_cli.session import output, pass_session
from aigov_cli.values import Duration


@click.group()
def probe() -> None:
    """Monitoring probes: check that a system's alerts reach their receivers."""


def _path(system: str) -> str:
    return f"/v1/probes/{quote(system, safe='')}"


def _finish(
    api: Api, system: str, started: list[dict[str, Any]], wait: float
) -> list[dict[str, Any]]:
    """The probes once each has an outcome, or as they stand when `wait` seconds run out."""
    progress = Progress(interactive=sys.stderr.isatty())
    waiter = Waiter(api, deadline=time.monotonic() + wait, progress=progress)
    probes = list(started)
    while any(p.get("ok") is None for p in probes) and waiter.remaining() > 0:
        done = sum(p.get("ok") is not None for p in probes)
        progress.show(f"waiting for {len(probes) - done} of {len(probes)} probe(s) to finish")
        waiter.pause()
        probes = [
            p
            if p.get("ok") is not None
            else api.get("router", f"{_path(system)}/{quote(str(p['probe_id']), safe='')}").body
            for p in probes
        ]
    progress.clear()
    return probes


@probe.command("run")
@click.argument("system")
@click.option(
    "--wait",
    type=Duration(),
    default=0.0,
    show_default=True,
    metavar="DURATION",
    help="Wait up to this long (30s) for the outcome; exit 1 if a probe failed.",
)
@output_option
@click.pass_context
def run(ctx: click.Context, system: str, wait: float, output_format: str) -> None:
    """Probe a system's alert routes now (owner role), one probe per monitored signal."""
    api = pass_session(ctx).api()
    answer = api.post("router", _path(system), content=b"").body
    probes = answer if isinstance(answer, list) else []
    if wait > 0:
        probes = _finish(api, system, probes, wait)
        answer = probes
    text = views.probes(probes, system=system, started=True)
    output(answer, as_json=output_format == "json", text=text)
    if wait > 0 and any(p.get("ok") is False for p in probes):
        ctx.exit(EXIT_DENY)


@probe.command("show")
@click.argument("system")
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Newest runs."
)
@output_option
@click.pass_context
def show(ctx: click.Context, system: str, limit: int, output_format: str) -> None:
    """Show a system's recent probe runs, newest first, with their outcome."""
    answer = pass_session(ctx).api().get("router", _path(system), params={"limit": str(limit)}).body
    probes = answer if isinstance(answer, list) else []
    output(answer, as_json=output_format == "json", text=views.probes(probes, system=system))
