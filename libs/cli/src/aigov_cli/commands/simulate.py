"""`aigov simulate`: the tier and controls a manifest would get, and whether a change is material."""

from __future__ import annotations

import click
import yaml

from aigov_cli.api import JSON, YAML
from aigov_cli.commands.options import json_option, manifest_option
from aigov_cli.commands.systems import manifest_id
from aigov_cli.documents import is_json, parse, read_bytes
from aigov_cli.errors import EXIT_DENY
from aigov_cli.render import simulation
from aigov_cli.session import output, pass_session


@click.command()
@manifest_option("The manifest to try, YAML or JSON.")
@click.option(
    "--previous",
    type=click.Path(dir_okay=False),
    help="The approved manifest it replaces: also report whether the change is material.",
)
@click.option(
    "--fail-on-material-change",
    is_flag=True,
    help="Exit 1 when the change against --previous is material (needs a new approval).",
)
@json_option
@click.pass_context
def simulate(
    ctx: click.Context,
    manifest: str,
    previous: str | None,
    fail_on_material_change: bool,
    as_json: bool,
) -> None:
    """Dry-run the tiering policy on a manifest; nothing is stored."""
    session = pass_session(ctx)
    raw = read_bytes(manifest)
    manifest_id(manifest, raw)
    if previous is None:
        content, content_type = raw, (JSON if is_json(manifest) else YAML)
    else:
        old = read_bytes(previous)
        manifest_id(previous, old)
        # YAML carries both documents unchanged (a JSON re-encoding would turn YAML dates
        # into text the server would not have accepted from the file itself).
        pair = {"manifest": parse(manifest, raw), "previous": parse(previous, old)}
        content, content_type = yaml.safe_dump(pair, sort_keys=False).encode(), YAML
    answer = (
        session.api()
        .post("tiering", "/v1/tiering/simulate", content=content, content_type=content_type)
        .body
    )
    output(answer, as_json=as_json, text=simulation(answer))
    change = answer.get("material_change") if isinstance(answer, dict) else None
    if fail_on_material_change and isinstance(change, dict) and change.get("material"):
        ctx.exit(EXIT_DENY)
