"""Evaluation metrics from wherever CI has them: a request body, a metrics file, JUnit, flags.

A metric needs a direction (`higher_is_better`) because the policy pack's minimums compare
against it; the CLI never guesses one. Metrics from a flat file (`{"groundedness": 0.86}`) or
`--metric name=value` take theirs from `--higher-is-better` / `--lower-is-better`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from aigov_cli.errors import CliError

Metric = dict[str, Any]


def _number(value: Any, *, where: str) -> float | int:
    number: float | int
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    else:
        try:
            number = float(str(value))
        except ValueError:
            raise CliError(f"{where}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise CliError(f"{where}: {value!r} is not a finite number")
    return number


def metrics_from_document(
    document: Any, *, where: str
) -> tuple[list[Metric], list[tuple[str, Any]]]:
    """Complete metric objects, and bare `(name, value)` pairs still needing a direction.

    Accepted: a list of metric objects, `{"metrics": [...]}`, or a flat `{"name": value}`.
    """
    if isinstance(document, dict) and isinstance(document.get("metrics"), list):
        document = document["metrics"]
    if isinstance(document, list):
        metrics: list[Metric] = []
        for index, item in enumerate(document):
            if not isinstance(item, dict) or "name" not in item or "value" not in item:
                raise CliError(
                    f"{where}: metrics[{index}] must be an object with name, value and "
                    "higher_is_better"
                )
            metrics.append(dict(item))
        return metrics, []
    if isinstance(document, dict) and document:
        return [], [(str(name), value) for name, value in document.items()]
    raise CliError(
        f"{where}: expected metrics as a list of {{name, value, higher_is_better}} objects, "
        '{"metrics": [...]}, or a flat {"name": value} object'
    )


def with_directions(
    pairs: Iterable[tuple[str, Any]],
    *,
    higher: Iterable[str],
    lower: Iterable[str],
    where: str,
) -> list[Metric]:
    """Bare `(name, value)` pairs as metrics, directed by the `--higher/lower-is-better` names."""
    higher_set, lower_set = set(higher), set(lower)
    if both := sorted(higher_set & lower_set):
        raise CliError(f"{both} given both --higher-is-better and --lower-is-better")
    metrics: list[Metric] = []
    undirected: list[str] = []
    for name, value in pairs:
        if name not in higher_set | lower_set:
            undirected.append(name)
            continue
        metrics.append(
            {
                "name": name,
                "value": _number(value, where=f"{where}: {name}"),
                "higher_is_better": name in higher_set,
            }
        )
    if undirected:
        flags = " ".join(f"--lower-is-better {name}" for name in undirected[:2])
        raise CliError(
            f"{where}: say whether higher or lower is better for {undirected} "
            f"(e.g. --higher-is-better {undirected[0]} or {flags})"
        )
    return metrics


def merge(*groups: Iterable[Metric]) -> list[Metric]:
    """All metrics, one per name: a later group replaces an earlier one's metric of that name."""
    merged: dict[str, Metric] = {}
    for group in groups:
        for metric in group:
            merged.pop(str(metric["name"]), None)
            merged[str(metric["name"])] = metric
    return list(merged.values())


def parse_metric_flags(values: Iterable[str]) -> list[tuple[str, str]]:
    """`--metric name=value` flags as pairs."""
    pairs = []
    for text in values:
        name, sep, value = text.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise CliError(
                f"--metric {text!r}: expected name=value, e.g. --metric groundedness=0.86"
            )
        pairs.append((name.strip(), value.strip()))
    return pairs
