"""`aigov approve`: an approver's decision on a release (or on a material change)."""

from __future__ import annotations

import click

from aigov_cli.commands.options import (
    apply,
    base_body,
    file_option,
    idempotency_option,
    json_option,
    release_options,
    require,
)
from aigov_cli.session import pass_session


@click.command()
@file_option("An approval request body (JSON/YAML, the /v1/approvals format).")
@release_options
@click.option("--rationale", help="Why (required).")
@click.option("--evidence", multiple=True, help="Evidence the decision rests on (repeatable).")
@click.option("--deny", is_flag=True, help="Deny instead of grant.")
@click.option("--role", help="Capacity the approver decides in (default: approver).")
@click.option(
    "--material-change",
    "material_change_id",
    metavar="ID",
    help="Decide on this material change instead of the release.",
)
@idempotency_option
@json_option
@click.pass_context
def approve(
    ctx: click.Context,
    body_file: str | None,
    system: str | None,
    release: str | None,
    rationale: str | None,
    evidence: tuple[str, ...],
    deny: bool,
    role: str | None,
    material_change_id: str | None,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Approve (or --deny) a release; needs an approver token, not the submitter's."""
    body = base_body(body_file)
    apply(
        body,
        {
            "system": system,
            "version": release,
            "decision": "denied" if deny else body.get("decision", "granted"),
            "rationale": rationale,
            "evidence": evidence,
            "role": role,
            "scope": "material_change" if material_change_id else None,
            "material_change_id": material_change_id,
        },
    )
    require(
        body,
        {"system": "--system", "version": "--version", "rationale": "--rationale"},
        body_file=body_file,
    )
    pass_session(ctx).send("/v1/approvals", body, idempotency_key=idempotency_key, as_json=as_json)
