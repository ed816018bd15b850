"""`aigov systems register`: send an AI system manifest (a new system or a new revision)."""

from __future__ import annotations

import click

from aigov_cli.api import JSON, YAML
from aigov_cli.commands.options import idempotency_option, json_option, manifest_option
from aigov_cli.documents import is_json, parse, read_bytes
from aigov_cli.errors import CliError
from aigov_cli.session import new_idempotency_key, output, pass_session


@click.group()
def systems() -> None:
    """AI systems: register manifests."""


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
