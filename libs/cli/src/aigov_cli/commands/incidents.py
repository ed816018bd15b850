"""`aigov incidents list|show|ack|contain|resolve`: incidents as intake knows them, and their steps.

Intake lists incidents reported through it and those the monitoring router opened; the
lifecycle steps go through intake's `POST /v1/incidents/{id}/acknowledge|contain|resolve`,
which publish the matching `incident.*` event (remembered for `gate --wait` like any other).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import click

from aigov_cli import views
from aigov_cli.commands.options import idempotency_option, json_option, output_option, query
from aigov_cli.session import output, pass_session

STATUSES = ("reported", "acknowledged", "contained", "resolved")


@click.group()
def incidents() -> None:
    """Incidents: list and show them, acknowledge, contain and resolve one."""


@incidents.command("list")
@click.option("--system", metavar="ID", help="Only this AI system's incidents.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(STATUSES),
    help="Only incidents in this status (repeatable).",
)
@click.option(
    "--opened-by",
    type=click.Choice(["report", "alert"]),
    help="Only those reported by a person or tool (report) or opened by the router (alert).",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many (newest first).")
@output_option
@click.pass_context
def list_incidents(
    ctx: click.Context,
    system: str | None,
    statuses: tuple[str, ...],
    opened_by: str | None,
    limit: int | None,
    output_format: str,
) -> None:
    """List incidents newest first (intake's GET /v1/incidents)."""
    params = query(system=system, status=statuses, opened_by=opened_by, limit=limit)
    answer = pass_session(ctx).api().get("intake", "/v1/incidents", params=params).body
    output(answer, as_json=output_format == "json", text=views.incidents(answer))


@incidents.command("show")
@click.argument("incident_id")
@output_option
@click.pass_context
def show_incident(ctx: click.Context, incident_id: str, output_format: str) -> None:
    """Show one incident (intake's GET /v1/incidents/{id})."""
    path = f"/v1/incidents/{quote(incident_id, safe='')}"
    answer = pass_session(ctx).api().get("intake", path).body
    output(answer, as_json=output_format == "json", text=views.incident(answer))


def _step(
    ctx: click.Context,
    incident_id: str,
    step: str,
    body: dict[str, Any],
    key: str | None,
    as_json: bool,
) -> None:
    pass_session(ctx).send_step(
        f"/v1/incidents/{quote(incident_id, safe='')}/{step}",
        {k: v for k, v in body.items() if v is not None},
        idempotency_key=key,
        as_json=as_json,
        describe=views.incident_step,
    )


@incidents.command("ack")
@click.argument("incident_id")
@click.option("--note", metavar="TEXT", help="What the responder is doing first.")
@idempotency_option
@json_option
@click.pass_context
def acknowledge(
    ctx: click.Context,
    incident_id: str,
    note: str | None,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Acknowledge a reported incident (stops its acknowledge SLA)."""
    _step(ctx, incident_id, "acknowledge", {"note": note}, idempotency_key, as_json)


@incidents.command("contain")
@click.argument("incident_id")
@click.option("--note", required=True, metavar="TEXT", help="What was done to stop the harm.")
@idempotency_option
@json_option
@click.pass_context
def contain(
    ctx: click.Context, incident_id: str, note: str, idempotency_key: str | None, as_json: bool
) -> None:
    """Record that an incident's harm was contained."""
    _step(ctx, incident_id, "contain", {"note": note}, idempotency_key, as_json)


@incidents.command("resolve")
@click.argument("incident_id")
@click.option("--note", "resolution", required=True, metavar="TEXT", help="How it was resolved.")
@click.option("--root-cause", metavar="TEXT", help="Why it happened, when known.")
@idempotency_option
@json_option
@click.pass_context
def resolve(
    ctx: click.Context,
    incident_id: str,
    resolution: str,
    root_cause: str | None,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Resolve an incident (stops its SLA timers and escalation)."""
    _step(
        ctx,
        incident_id,
        "resolve",
        {"resolution": resolution, "root_cause": root_cause},
        idempotency_key,
        as_json,
    )
