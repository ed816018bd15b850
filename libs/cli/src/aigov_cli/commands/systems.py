"""`aigov systems register|list|show`: send an AI system manifest, read the inventory."""

from __future__ import annotations

from urllib.parse import quote

import click

from aigov_cli import views
from aigov_cli.api import JSON, YAML
from aigov_cli.commands.options import (
    idempotency_option,
    json_option,
    manifest_option,
    output_option,
    page_options,
    query,
)
from aigov_cli.documents import is_json, parse, read_bytes
from aigov_cli.errors import CliError
from aigov_cli.session import new_idempotency_key, output, pass_session


@click.group()
def systems() -> None:
    """AI systems: register manifests, list the inventory, show one."""


def manifest_id(path: str, raw: bytes) -> str:
    """The manifest's `metadata.id`, after checking locally that the file parses."""
    document = parse(path, raw)
    metadata = document.get("metadata") if isinstance(document, dict) else None
    system_id = metadata.get("id") if isinstance(metadata, dict) else None
    if not isinstance(system_id, str) or not system_id:
        raise CliError(
            f"{path}: not an AI system manifest: no metadata.id "
            "(expected apiVersion: aigov.io/v1, kind: AISystem, metadata: {id: ...})"
        )
    return system_id


@systems.command("register")
@manifest_option("The manifest (aigov.io/v1 AISystem), YAML or JSON; - reads stdin.")
@idempotency_option
@json_option
@click.pass_context
def register(ctx: click.Context, manifest: str, idempotency_key: str | None, as_json: bool) -> None:
    """Register an AI system, or submit a new revision of its manifest."""
    session = pass_session(ctx)
    raw = read_bytes(manifest)
    system_id = manifest_id(manifest, raw)
    answer = (
        session.api()
        .post(
            "intake",
            "/v1/systems",
            content=raw,
            content_type=JSON if is_json(manifest) else YAML,
            idempotency_key=idempotency_key or new_idempotency_key(),
        )
        .body
    )
    session.remember(answer, system=system_id, version=None)
    for warning in answer.get("warnings") or []:
        click.echo(f"warning: {warning}", err=True)
    output(answer, as_json=as_json, text=describe(answer))


def describe(answer: dict[str, object]) -> str:
    """The receipt of a manifest submission in words."""
    system, revision = answer.get("system_id"), answer.get("revision")
    if answer.get("duplicate"):
        return f"{system}: already submitted with this idempotency key (revision {revision}); nothing sent"
    if not answer.get("changed"):
        return f"{system}: unchanged, still revision {revision}; nothing sent"
    verb = "registered" if revision == 1 else "updated"
    return f"{system}: {verb}, revision {revision} (event {answer.get('event_id')})"


@systems.command("list")
@click.option("--tier", type=click.Choice(["prohibited", "high", "medium", "low"]))
@click.option("--team", metavar="TEAM", help="Only this team's systems.")
@click.option(
    "--status", type=click.Choice(["active", "retired", "unregistered"]), help="Lifecycle status."
)
@click.option(
    "--gate", type=click.Choice(["allow", "deny"]), help="Only systems whose last gate said so."
)
@page_options
@output_option
@click.pass_context
def list_systems(
    ctx: click.Context,
    tier: str | None,
    team: str | None,
    status: str | None,
    gate: str | None,
    limit: int,
    cursor: str | None,
    output_format: str,
) -> None:
    """List the inventory (evidence's GET /v1/systems), ordered by id, one page at a time."""
    params = query(tier=tier, team=team, status=status, gate=gate, limit=limit, cursor=cursor)
    answer = pass_session(ctx).api().get("evidence", "/v1/systems", params=params).body
    output(answer, as_json=output_format == "json", text=views.systems_page(answer))


@systems.command("show")
@click.argument("system")
@output_option
@click.pass_context
def show_system(ctx: click.Context, system: str, output_format: str) -> None:
    """Show one AI system: tier and policy, owner, team, surfaces, open incidents, last gate."""
    api = pass_session(ctx).api()
    answer = api.get("evidence", f"/v1/systems/{quote(system, safe='')}").body
    output(answer, as_json=output_format == "json", text=views.system_detail(answer))
