"""Material-change detection: a new manifest against the last approved one, an evaluation against its baseline.

Pure functions over manifest documents (camelCase JSON) and metrics, driven by the
policy pack's material-change rules and regression tolerances.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from aigov_events.catalog.decisions import FieldChange, MetricRegression
from aigov_events.catalog.enums import ComparisonOp
from aigov_tiering.policy.pack import PolicyPack
from aigov_tiering.policy.schema import MaterialRule

#: Tolerance for float noise when comparing metric deltas with a tolerance.
_EPSILON = 1e-12


@dataclass(frozen=True, slots=True)
class ManifestComparison:
    """How a revision differs from the approved manifest: material changes and the other fields."""

    material: tuple[FieldChange, ...]
    non_material_fields: tuple[str, ...]

    @property
    def is_material(self) -> bool:
        """Whether any change needs a new approval cycle."""
        return bool(self.material)


@dataclass(frozen=True, slots=True)
class MeasuredMetric:
    """One metric value of an evaluation, with its direction as the producer declared it."""

    value: float
    higher_is_better: bool


def compare_manifests(
    approved: Mapping[str, Any], revision: Mapping[str, Any], pack: PolicyPack
) -> ManifestComparison:
    """Diff two manifest documents under the pack's material-change rules."""
    material: list[FieldChange] = []
    for rule in pack.material_rules:
        for field in rule.fields:
            material.extend(_field_changes(rule, field, approved, revision, pack))
    flagged = {change.field for change in material}
    # A changed path that contains, or lies inside, a material change is covered by it.
    non_material = sorted(
        path
        for path in _changed_paths(approved, revision, "")
        if not any(_is_under(path, field) or _is_under(field, path) for field in flagged)
    )
    return ManifestComparison(material=tuple(material), non_material_fields=tuple(non_material))


def regressions(
    baseline: Mapping[str, MeasuredMetric],
    current: Mapping[str, MeasuredMetric],
    pack: PolicyPack,
) -> list[MetricRegression]:
    """Metrics of `current` worse than `baseline` by more than the pack's tolerance, by name."""
    found: list[MetricRegression] = []
    for name in sorted(baseline.keys() & current.keys()):
        policy = pack.evaluation.metrics.get(name)
        tolerance = pack.evaluation.default_regression_tolerance
        higher_is_better = current[name].higher_is_better
        if policy is not None:
            higher_is_better = policy.op is ComparisonOp.GE
            if policy.regression_tolerance is not None:
                tolerance = policy.regression_tolerance
        before, after = baseline[name].value, current[name].value
        worsening = before - after if higher_is_better else after - before
        if worsening > tolerance + _EPSILON:
            found.append(
                MetricRegression(
                    metric=name, previous_value=before, current_value=after, tolerance=tolerance
                )
            )
    return found


def _field_changes(
    rule: MaterialRule,
    field: str,
    approved: Mapping[str, Any],
    revision: Mapping[str, Any],
    pack: PolicyPack,
) -> Iterator[FieldChange]:
    old, new = _get(approved, field), _get(revision, field)
    if rule.compare == "changed":
        if old != new:
            yield FieldChange(field=field, old=old, new=new, rule=rule.id)
        return
    # gains-sensitive-data-class: corpora matched by id; a new corpus gains all its classes.
    non_sensitive = set(pack.vocabulary.get("non_sensitive_data_classes", []))
    old_classes = {corpus["id"]: set(corpus["dataClasses"]) for corpus in old or []}
    for index, corpus in enumerate(new or []):
        before = old_classes.get(corpus["id"])
        gained = set(corpus["dataClasses"]) - (before or set()) - non_sensitive
        if gained:
            yield FieldChange(
                field=f"{field}.{index}.dataClasses",
                old=None if before is None else sorted(before),
                new=list(corpus["dataClasses"]),
                rule=rule.id,
            )


def _get(document: Mapping[str, Any], path: str) -> Any:
    value: Any = document
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def _changed_paths(old: Any, new: Any, prefix: str) -> Iterator[str]:
    """Dotted paths where two documents differ (lists compare whole, at their own path)."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(old.keys() | new.keys()):
            yield from _changed_paths(old.get(key), new.get(key), f"{prefix}{key}.")
    elif old != new:
        yield prefix.rstrip(".")


def _is_under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + ".")
