"""`aigov evidence` and `aigov ledger verify`: a system's ledger records, and whether they are intact."""

from __future__ import annotations

from urllib.parse import quote

import click

from aigov_cli import views
from aigov_cli.commands.options import output_option, page_options, query
from aigov_cli.errors import EXIT_DENY
from aigov_cli.session import output, pass_session


@click.command("evidence")
@click.argument("system")
@click.option(
    "--type",
    "types",
    multiple=True,
    metavar="EVENT_TYPE",
    help="Only records of this event type, e.g. io.aigov.evaluation.completed.v1 (repeatable).",
)
@click.option("--version", "release", metavar="VERSION", help="Only records of this release.")
@click.option("--since", metavar="TIME", help="Records at or after this ISO 8601 time.")
@click.option("--until", metavar="TIME", help="Records before this ISO 8601 time.")
@page_options
@output_option
@click.pass_context
def evidence(
    ctx: click.Context,
    system: str,
    types: tuple[str, ...],
    release: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    cursor: str | None,
    output_format: str,
) -> None:
    """List a system's ledger records in chain order (GET /v1/systems/{id}/evidence)."""
    params = query(
        type=types, version=release, since=since, until=until, limit=limit, cursor=cursor
    )
    path = f"/v1/systems/{quote(system, safe='')}/evidence"
    answer = pass_session(ctx).api().get("evidence", path, params=params).body
    output(answer, as_json=output_format == "json", text=views.evidence_page(answer, system=system))


@click.group()
def ledger() -> None:
    """The evidence ledger: verify a system's hash chain."""


@ledger.command("verify")
@click.argument("system")
@output_option
@click.pass_context
def verify(ctx: click.Context, system: str, output_format: str) -> None:
    """Recompute a system's hash chain against the signed checkpoints; exit 1 if it fails."""
    path = f"/v1/systems/{quote(system, safe='')}/ledger/verify"
    answer = pass_session(ctx).api().get("evidence", path).body
    output(answer, as_json=output_format == "json", text=views.verification(answer))
    if not (isinstance(answer, dict) and answer.get("ok") is True):
        ctx.exit(EXIT_DENY)
