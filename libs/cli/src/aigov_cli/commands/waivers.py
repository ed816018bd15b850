"""`aigov waivers list|request|grant|reject`: ship without some controls, for a while, with approval.

`aigov waiver ...` (the older, singular spelling) is the same group.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import click

from aigov_cli import views
from aigov_cli.commands.options import (
    apply,
    base_body,
    file_option,
    idempotency_option,
    json_option,
    output_option,
    page_options,
    query,
    release_options,
    require,
)
from aigov_cli.errors import CliError
from aigov_cli.session import output, pass_session
from aigov_cli.values import Duration, parse_expiry

DAY_S = 86400.0


@click.group()
def waivers() -> None:
    """Waivers: list them, request one for missing controls, then grant or reject it."""


def describe(answer: dict[str, Any]) -> str:
    """A waiver receipt in words."""
    text = f"waiver {answer.get('waiver_id')} {answer.get('status')} for {answer.get('system_id')}"
    text += f" (event {answer.get('event_id')})"
    if answer.get("duplicate"):
        text += " — already accepted before, not published again"
    return text


@waivers.command("request")
@file_option("A waiver request body (JSON/YAML, the /v1/waivers format).")
@release_options
@click.option(
    "--control", multiple=True, metavar="CONTROL_ID", help="A control to waive (repeatable)."
)
@click.option("--justification", help="Why the release should ship without them.")
@click.option(
    "--compensating-control",
    multiple=True,
    metavar="TEXT",
    help="What mitigates the risk meanwhile (repeatable).",
)
@click.option(
    "--expires",
    metavar="TIME|DURATION",
    help="When the waiver ends: 2026-12-26T00:00:00Z, or 30d from now.",
)
@idempotency_option
@json_option
@click.pass_context
def request(
    ctx: click.Context,
    body_file: str | None,
    system: str | None,
    release: str | None,
    control: tuple[str, ...],
    justification: str | None,
    compensating_control: tuple[str, ...],
    expires: str | None,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Request a waiver; prints the waiver id an approver grants."""
    body = base_body(body_file)
    expires_at = None
    if expires is not None:
        try:
            expires_at = parse_expiry(expires)
        except ValueError as exc:
            raise CliError(f"--expires: {exc}") from None
    apply(
        body,
        {
            "system": system,
            "version": release,
            "controls": control,
            "justification": justification,
            "compensating_controls": compensating_control,
            "expires_at": expires_at,
        },
    )
    require(
        body,
        {
            "system": "--system",
            "version": "--version",
            "controls": "--control",
            "justification": "--justification",
            "expires_at": "--expires",
        },
        body_file=body_file,
    )
    pass_session(ctx).send(
        "/v1/waivers", body, idempotency_key=idempotency_key, as_json=as_json, describe=describe
    )


def _decide(
    ctx: click.Context,
    waiver_id: str,
    decision: str,
    rationale: str,
    key: str | None,
    as_json: bool,
) -> None:
    pass_session(ctx).send_step(
        f"/v1/waivers/{quote(waiver_id, safe='')}/{decision}",
        {"rationale": rationale},
        idempotency_key=key,
        as_json=as_json,
        describe=describe,
    )


@waivers.command("grant")
@click.argument("waiver_id")
@click.option("--rationale", required=True, help="Why the waiver is acceptable.")
@idempotency_option
@json_option
@click.pass_context
def grant(
    ctx: click.Context, waiver_id: str, rationale: str, idempotency_key: str | None, as_json: bool
) -> None:
    """Grant a requested waiver (approver token; not the requester's)."""
    _decide(ctx, waiver_id, "grant", rationale, idempotency_key, as_json)


@waivers.command("reject")
@click.argument("waiver_id")
@click.option("--rationale", required=True, help="Why the waiver is refused.")
@idempotency_option
@json_option
@click.pass_context
def reject(
    ctx: click.Context, waiver_id: str, rationale: str, idempotency_key: str | None, as_json: bool
) -> None:
    """Reject a requested waiver (approver token; not the requester's)."""
    _decide(ctx, waiver_id, "reject", rationale, idempotency_key, as_json)


@waivers.command("list")
@click.option("--system", metavar="ID", help="Only this AI system's waivers.")
@click.option(
    "--status",
    type=click.Choice(["requested", "granted", "rejected", "expired"]),
    help="Only waivers in this status.",
)
@click.option(
    "--expiring",
    type=Duration(),
    metavar="DAYS",
    help="Only granted waivers expiring within this many whole days (7d; the server's "
    "expiring_within_days filter).",
)
@page_options
@output_option
@click.pass_context
def list_waivers(
    ctx: click.Context,
    system: str | None,
    status: str | None,
    expiring: float | None,
    limit: int,
    cursor: str | None,
    output_format: str,
) -> None:
    """List waivers ordered by expiry (GET /v1/waivers)."""
    days = None
    if expiring is not None:
        if expiring % DAY_S:
            raise CliError(
                f"--expiring: the server counts whole days: use e.g. 7d, not {expiring:g}s"
            )
        days = int(expiring // DAY_S)
    params = query(
        system=system, status=status, expiring_within_days=days, limit=limit, cursor=cursor
    )
    answer = pass_session(ctx).api().get("evidence", "/v1/waivers", params=params).body
    note = f"Granted waivers expiring within {days} day(s)." if days is not None else None
    output(answer, as_json=output_format == "json", text=views.waivers_page(answer, note=note))


waiver = click.Group(
    "waiver",
    commands=waivers.commands,
    help="Same as `aigov waivers` (the older spelling).",
    hidden=True,
)
"""`aigov waiver ...`: the singular spelling CI files and next steps already use."""
