"""Options several commands share, and building request bodies from a file plus flags."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from aigov_cli.documents import read_mapping
from aigov_cli.errors import CliError

F = TypeVar("F", bound=Callable[..., Any])


def json_option(fn: F) -> F:
    """`--json`: print the server's answer as JSON instead of text."""
    return click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")(fn)


def output_option(fn: F) -> F:
    """`-o/--output table|json`: a read command's table, or the server's JSON answer (for jq)."""
    return click.option(
        "-o",
        "--output",
        "output_format",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="table for people; json prints the server's answer unchanged (for jq).",
    )(fn)


def page_options(fn: F) -> F:
    """`--limit` and `--cursor`: one page of a listing, and where the next one starts."""
    fn = click.option(
        "--cursor",
        metavar="CURSOR",
        help="Continue after the previous page (the cursor it printed, its JSON `next`).",
    )(fn)
    return click.option(
        "--limit",
        type=click.IntRange(1, 500),
        default=100,
        show_default=True,
        help="Page size (at most 500).",
    )(fn)


def query(**values: Any) -> dict[str, str | list[str]]:
    """Query parameters from options: unset ones left out, repeatable ones as lists."""
    params: dict[str, str | list[str]] = {}
    for name, value in values.items():
        if value is None or value == ():
            continue
        params[name] = [str(v) for v in value] if isinstance(value, tuple | list) else str(value)
    return params


def idempotency_option(fn: F) -> F:
    """`--idempotency-key`: makes re-running the same CI step publish nothing twice."""
    return click.option(
        "--idempotency-key",
        metavar="KEY",
        help='Reuse this key when re-running the same step (e.g. "$CI_JOB_ID-eval"): intake '
        "answers a repeat as a duplicate instead of publishing again. Default: a new UUID.",
    )(fn)


def file_option(help_text: str) -> Callable[[F], F]:
    """`-f/--file`: a request body in the public JSON/YAML format."""
    return click.option(
        "-f", "--file", "body_file", metavar="FILE", help=help_text, type=click.Path(dir_okay=False)
    )


def release_options(fn: F) -> F:
    """`--system` and `--version`: the release a command is about."""
    fn = click.option("--version", "release", metavar="VERSION", help="Release version.")(fn)
    return click.option("--system", metavar="ID", help="AI system id.")(fn)


def base_body(body_file: str | None) -> dict[str, Any]:
    """The request body from `-f` (or an empty one to fill from flags)."""
    return read_mapping(body_file) if body_file else {}


def apply(body: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """`body` with every given flag value set (flags override the file)."""
    for key, value in values.items():
        if value is not None and value != () and value != []:
            body[key] = list(value) if isinstance(value, tuple) else value
    return body


def require(body: Mapping[str, Any], fields: Mapping[str, str], *, body_file: str | None) -> None:
    """CliError naming every missing field as the flag (or file key) that provides it."""
    missing = [flag for key, flag in fields.items() if body.get(key) in (None, "", [], {})]
    if missing:
        where = f" or in {body_file}" if body_file else " (or give them in a file with -f)"
        raise CliError(f"missing {', '.join(missing)}{where}")


def manifest_option(help_text: str) -> Callable[[F], F]:
    """`-f/--file`: an AI system manifest (required)."""
    return click.option(
        "-f",
        "--file",
        "manifest",
        required=True,
        type=click.Path(dir_okay=False),
        help=help_text,
    )
