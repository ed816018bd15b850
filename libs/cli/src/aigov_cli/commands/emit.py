"""`aigov emit evaluation|artifact|deployment`: release evidence from files or flags."""

from __future__ import annotations

import hashlib
from typing import Any

import click

from aigov_cli import ci
from aigov_cli.commands.options import (
    apply,
    base_body,
    file_option,
    idempotency_option,
    json_option,
    release_options,
    require,
)
from aigov_cli.documents import read_bytes, read_document
from aigov_cli.errors import CliError
from aigov_cli.junit import combine, parse_junit
from aigov_cli.metrics import merge, metrics_from_document, parse_metric_flags, with_directions
from aigov_cli.session import pass_session
from aigov_cli.values import parse_pair


@click.group()
def emit() -> None:
    """Send release evidence: evaluation results, artifacts, deployments."""


def parse_dataset(text: str) -> dict[str, str]:
    """`ID:VERSION[:URI]` as a dataset reference."""
    parts = text.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise CliError(f"--dataset {text!r}: expected ID:VERSION[:URI], e.g. support-eval-set:7")
    dataset = {"id": parts[0], "version": parts[1]}
    if len(parts) == 3 and parts[2]:
        dataset["uri"] = parts[2]
    return dataset


def evaluation_metrics(
    body: dict[str, Any],
    *,
    junit: tuple[str, ...],
    metrics_file: str | None,
    metric: tuple[str, ...],
    higher: tuple[str, ...],
    lower: tuple[str, ...],
) -> tuple[list[dict[str, Any]], str | None]:
    """All metrics (file body, JUnit, metrics file, flags; later wins) and a JUnit suite name."""
    groups: list[list[dict[str, Any]]] = [list(body.get("metrics") or [])]
    suite = None
    if junit:
        # Several reports (test shards) are one run: their counts are summed.
        report = combine([parse_junit(path, read_bytes(path)) for path in junit])
        suite = report.name
        groups.append(report.metrics())
    if metrics_file:
        complete, pairs = metrics_from_document(read_document(metrics_file), where=metrics_file)
        groups += [complete, with_directions(pairs, higher=higher, lower=lower, where=metrics_file)]
    if metric:
        groups.append(
            with_directions(
                parse_metric_flags(metric), higher=higher, lower=lower, where="--metric"
            )
        )
    return merge(*groups), suite


@emit.command("evaluation")
@file_option("An evaluation request body (JSON/YAML, the /v1/evaluations format).")
@release_options
@click.option("--suite", help="Evaluation suite name (default: the JUnit report's name).")
@click.option("--dataset", metavar="ID:VERSION[:URI]", help="The dataset evaluated on.")
@click.option(
    "--junit",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A JUnit XML report (repeatable: shards are summed).",
)
@click.option(
    "--metrics", "metrics_file", type=click.Path(dir_okay=False), help="A JSON/YAML metrics file."
)
@click.option("--metric", multiple=True, metavar="NAME=VALUE", help="One metric (repeatable).")
@click.option(
    "--higher-is-better",
    "higher",
    multiple=True,
    metavar="NAME",
    help="Direction of a bare metric (repeatable).",
)
@click.option(
    "--lower-is-better",
    "lower",
    multiple=True,
    metavar="NAME",
    help="Direction of a bare metric (repeatable).",
)
@click.option("--run-id", help="CI/ML run id (default: the GitHub Actions / GitLab CI run).")
@click.option("--run-url", help="Link to the run.")
@click.option("--commit", help="Commit the run evaluated (hex).")
@click.option("--raw-outputs-uri", help="Where the raw model outputs are kept.")
@idempotency_option
@json_option
@click.pass_context
def evaluation(
    ctx: click.Context,
    body_file: str | None,
    system: str | None,
    release: str | None,
    suite: str | None,
    dataset: str | None,
    junit: tuple[str, ...],
    metrics_file: str | None,
    metric: tuple[str, ...],
    higher: tuple[str, ...],
    lower: tuple[str, ...],
    run_id: str | None,
    run_url: str | None,
    commit: str | None,
    raw_outputs_uri: str | None,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Send evaluation results (a JUnit report, a metrics file, flags) as evaluation.completed."""
    body = base_body(body_file)
    metrics, junit_suite = evaluation_metrics(
        body, junit=junit, metrics_file=metrics_file, metric=metric, higher=higher, lower=lower
    )
    run = {**ci.current_run(), **(body.get("run") or {})}
    run = apply(run, {"id": run_id, "url": run_url, "commit": commit})
    apply(
        body,
        {
            "system": system,
            "version": release,
            "suite": suite or body.get("suite") or junit_suite,
            "dataset": parse_dataset(dataset) if dataset else None,
            "metrics": metrics,
            "run": run or None,
            "raw_outputs_uri": raw_outputs_uri,
        },
    )
    require(
        body,
        {
            "system": "--system",
            "version": "--version",
            "suite": "--suite",
            "dataset": "--dataset",
            "metrics": "metrics (--junit, --metrics or --metric)",
            "run": "--run-id",
        },
        body_file=body_file,
    )
    pass_session(ctx).send(
        "/v1/evaluations", body, idempotency_key=idempotency_key, as_json=as_json
    )


def sha256_of(path: str) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(read_bytes(path)).hexdigest()


@emit.command("artifact")
@file_option("An artifact request body (JSON/YAML, the /v1/artifacts format).")
@release_options
@click.option("--kind", help="model_card, data_sheet, risk_assessment, ...")
@click.option("--title", help="The document's title.")
@click.option("--uri", help="Where the document lives.")
@click.option("--sha256", help="SHA-256 of the document's bytes.")
@click.option(
    "--document",
    type=click.Path(dir_okay=False),
    help="The document itself: its SHA-256 is computed.",
)
@click.option("--section", multiple=True, metavar="KEY=TEXT", help="A section (repeatable).")
@idempotency_option
@json_option
@click.pass_context
def artifact(
    ctx: click.Context,
    body_file: str | None,
    system: str | None,
    release: str | None,
    kind: str | None,
    title: str | None,
    uri: str | None,
    sha256: str | None,
    document: str | None,
    section: tuple[str, ...],
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Attach a governance document (model card, data sheet, ...) to a release."""
    if sha256 and document:
        raise CliError("give --sha256 or --document, not both")
    body = base_body(body_file)
    sections = dict(body.get("sections") or {})
    for text in section:
        try:
            key, value = parse_pair(text, what="KEY=TEXT, e.g. intended_use='Summaries for agents'")
        except ValueError as exc:
            raise CliError(f"--section {exc}") from None
        sections[key] = value
    apply(
        body,
        {
            "system": system,
            "version": release,
            "kind": kind,
            "title": title,
            "uri": uri,
            "sha256": sha256_of(document) if document else sha256,
            "sections": sections or None,
        },
    )
    require(
        body,
        {
            "system": "--system",
            "version": "--version",
            "kind": "--kind",
            "title": "--title",
            "uri": "--uri",
            "sha256": "--sha256 (or --document)",
        },
        body_file=body_file,
    )
    pass_session(ctx).send("/v1/artifacts", body, idempotency_key=idempotency_key, as_json=as_json)


@emit.command("deployment")
@file_option("A deployment request body (JSON/YAML, the /v1/deployments format).")
@release_options
@click.option("--environment", help="production, staging, ...")
@click.option("--region", help="EU, us-east-1, ...")
@click.option(
    "--status",
    type=click.Choice(["requested", "completed", "rolled_back"]),
    help="Default: requested.",
)
@click.option(
    "--outcome", type=click.Choice(["succeeded", "failed"]), help="With --status completed."
)
@click.option("--detail", help="With --status completed: notes or why it failed.")
@click.option("--to-version", help="With --status rolled_back: the release serving again.")
@click.option("--reason", help="With --status rolled_back: why.")
@click.option(
    "--pipeline-id", help="Deploying pipeline run (default: the GitHub Actions / GitLab CI run)."
)
@click.option("--pipeline-url", help="Link to it.")
@idempotency_option
@json_option
@click.pass_context
def deployment(
    ctx: click.Context,
    body_file: str | None,
    system: str | None,
    release: str | None,
    environment: str | None,
    region: str | None,
    status: str | None,
    outcome: str | None,
    detail: str | None,
    to_version: str | None,
    reason: str | None,
    pipeline_id: str | None,
    pipeline_url: str | None,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Report a deployment requested, completed or rolled back."""
    body = base_body(body_file)
    current = ci.current_run()
    pipeline = {k: v for k, v in current.items() if k in ("id", "url")}
    pipeline = apply(
        {**pipeline, **(body.get("pipeline") or {})}, {"id": pipeline_id, "url": pipeline_url}
    )
    apply(
        body,
        {
            "system": system,
            "version": release,
            "environment": environment,
            "region": region,
            "status": status or body.get("status") or "requested",
            "outcome": outcome,
            "detail": detail,
            "to_version": to_version,
            "reason": reason,
            "pipeline": pipeline or None,
        },
    )
    require(
        body,
        {
            "system": "--system",
            "version": "--version",
            "environment": "--environment",
            "region": "--region",
        },
        body_file=body_file,
    )
    pass_session(ctx).send(
        "/v1/deployments", body, idempotency_key=idempotency_key, as_json=as_json
    )
