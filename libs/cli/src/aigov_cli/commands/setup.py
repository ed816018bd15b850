"""`aigov completion` and `aigov config`: shell completion scripts and the resolved settings."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from aigov_cli.config import ENV_VARS, SERVICES
from aigov_cli.render import table
from aigov_cli.session import pass_session

SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL; e.g. `eval "$(aigov completion bash)"`."""
    root = ctx.find_root().command
    completer = get_completion_class(shell)
    assert completer is not None  # every name in SHELLS is one of click's built-in shells
    click.echo(completer(root, {}, "aigov", "_AIGOV_COMPLETE").source())


@click.command("config")
@click.pass_context
def show_config(ctx: click.Context) -> None:
    """Show the settings in effect and where each comes from (the token masked)."""
    config = pass_session(ctx).config
    rows = []
    for key in ENV_VARS:
        setting = config.settings[key]
        value = setting.value
        if key == "token" and value:
            value = f"{value[:4]}… ({len(value)} characters)"
        rows.append((key, value, setting.origin))
    rows += [(f"{s} → ", config.url(s), "") for s in SERVICES]
    click.echo("\n".join(table(["setting", "value", "from"], rows, indent="")))
