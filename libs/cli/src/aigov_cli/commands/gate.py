"""`aigov gate`: may this release ship? Exit 0 allow, 1 deny, 2 error — a pipeline step can block."""

from __future__ import annotations

import sys
import time

import click

from aigov_cli import emitted
from aigov_cli.commands.options import json_option
from aigov_cli.errors import EXIT_DENY, CliError
from aigov_cli.gate import REGISTRATION_TYPES, Awaited, Progress, Waiter, decide
from aigov_cli.render import gate_decision
from aigov_cli.session import output, pass_session
from aigov_cli.values import Duration


@click.command()
@click.option("--system", required=True, metavar="ID", help="AI system id.")
@click.option("--version", "release", required=True, metavar="VERSION", help="Release version.")
@click.option(
    "--wait",
    type=Duration(),
    default=0.0,
    show_default=True,
    metavar="DURATION",
    help="First wait up to this long (60s, 5m) for evidence to record the events this "
    "pipeline emitted for the release; 0 asks at once.",
)
@click.option(
    "--event-id",
    "event_ids",
    multiple=True,
    metavar="ID",
    help="Also wait for this event (repeatable), e.g. one emitted on another runner.",
)
@click.option(
    "--no-record",
    "no_record",
    is_flag=True,
    help="Only read the decision (GET /v1/gate, a reader token suffices); by default it is "
    "recorded as evidence (gate.decided), which needs the publisher role.",
)
@json_option
@click.pass_context
def gate(
    ctx: click.Context,
    system: str,
    release: str,
    wait: float,
    event_ids: tuple[str, ...],
    no_record: bool,
    as_json: bool,
) -> None:
    """Ask the release gate and record its decision; exit 0 on allow, 1 on deny, 2 on error."""
    if event_ids and wait <= 0:
        raise CliError("--event-id needs --wait: say how long to wait for those events")
    session = pass_session(ctx)
    api = session.api()
    own = emitted.for_release(emitted.load(session.state_file), system=system, version=release)
    awaited = (
        [*(Awaited(e.event_id, e.source) for e in own), *(Awaited(i) for i in event_ids)]
        if wait > 0
        else []
    )
    registered_here = wait > 0 and any(
        e.event_type.removeprefix("io.aigov.").startswith(REGISTRATION_TYPES) for e in own
    )
    progress = Progress(interactive=sys.stderr.isatty())
    waiter = Waiter(api, deadline=time.monotonic() + wait, progress=progress)
    answer = decide(
        api,
        system=system,
        version=release,
        event_ids=awaited,
        registered_here=registered_here,
        wait=wait,
        waiter=waiter,
        record=not no_record,
    )
    output(answer, as_json=as_json, text=gate_decision(answer))
    if answer["decision"] != "allow":
        ctx.exit(EXIT_DENY)
