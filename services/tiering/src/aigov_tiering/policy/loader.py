"""Load a policy pack directory: parse, validate (errors name file, line, field), compile, hash.

The pack's hash is the SHA-256 of the RFC 8785 (JCS) canonical JSON of
`{file name: parsed content}` over its files: comments, key order and YAML styling do
not change it, any change of meaning does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

import rfc8785
import yaml
from pydantic import BaseModel, ValidationError

from aigov_events.catalog.decisions import PolicyRef
from aigov_events.catalog.enums import EvidenceKind
from aigov_events.catalog.manifest import AISystemManifest
from aigov_tiering.policy.errors import PolicyError, PolicyProblem, RuleEvaluationError
from aigov_tiering.policy.expressions import Expression, compile_expression
from aigov_tiering.policy.pack import CompiledControl, CompiledRule, PolicyPack
from aigov_tiering.policy.schema import (
    ControlsFile,
    EvaluationFile,
    MaterialChangeFile,
    PackFile,
    TierRulesFile,
    TiersFile,
    VocabularyFile,
)

M = TypeVar("M", bound=BaseModel)

PACK_FILES: Final[dict[str, type[BaseModel]]] = {
    "pack.yaml": PackFile,
    "vocabulary.yaml": VocabularyFile,
    "tier-rules.yaml": TierRulesFile,
    "controls.yaml": ControlsFile,
    "tiers.yaml": TiersFile,
    "evaluation.yaml": EvaluationFile,
    "material-change.yaml": MaterialChangeFile,
}


class _Source:
    """One parsed file: its data and its YAML node tree (for line numbers)."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.node = yaml.compose(text, Loader=yaml.SafeLoader)
        self.data: Any = yaml.safe_load(text)

    def line(self, loc: Sequence[str | int]) -> int | None:
        """1-based line of the value at `loc` (or of its nearest existing parent)."""
        node = self.node
        if node is None:
            return None
        for key in loc:
            if isinstance(node, yaml.MappingNode):
                match = next((v for k, v in node.value if k.value == str(key)), None)
                if match is not None:
                    node = match
                # Else `key` is a pydantic union tag or a missing key: stay on the parent.
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
                if key < len(node.value):
                    node = node.value[key]
        return int(node.start_mark.line) + 1

    def problem(self, loc: Sequence[str | int], message: str) -> PolicyProblem:
        """A problem at `loc` in this file."""
        field = ".".join(str(part) for part in loc)
        return PolicyProblem(self.name, self.line(loc), field, message)


class _Compiler:
    """Compiles expressions, collecting problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[PolicyProblem] = []
        self.compiled: list[tuple[_Source, tuple[str | int, ...], Expression]] = []

    def compile(self, source: _Source, loc: tuple[str | int, ...], text: str) -> Expression | None:
        problem = source.problem(loc, "")
        where = f"{source.name}:{problem.line} {problem.field}"
        try:
            expression = compile_expression(text, where=where)
        except ValueError as exc:
            self.problems.append(source.problem(loc, f"invalid CEL expression: {exc}"))
            return None
        self.compiled.append((source, loc, expression))
        return expression


def load_pack(directory: Path) -> PolicyPack:
    """Load and check the pack in `directory`; raises PolicyError listing every problem found."""
    sources, models = _read_and_validate(directory)
    pack_file = _model(models, "pack.yaml", PackFile)
    vocabulary_file = _model(models, "vocabulary.yaml", VocabularyFile)
    rules_file = _model(models, "tier-rules.yaml", TierRulesFile)
    controls_file = _model(models, "controls.yaml", ControlsFile)
    tiers_file = _model(models, "tiers.yaml", TiersFile)
    evaluation_file = _model(models, "evaluation.yaml", EvaluationFile)
    material_file = _model(models, "material-change.yaml", MaterialChangeFile)

    compiler = _Compiler()
    rules_source = sources["tier-rules.yaml"]
    definitions = [
        (d.name, compiler.compile(rules_source, ("definitions", i, "expr"), d.expr))
        for i, d in enumerate(rules_file.definitions)
    ]
    rules = []
    for i, rule in enumerate(rules_file.rules):
        when = compiler.compile(rules_source, ("rules", i, "when"), rule.when)
        details = [
            (name, compiler.compile(rules_source, ("rules", i, "details", name), text))
            for name, text in rule.details.items()
        ]
        rules.append((rule, when, details))
    controls = []
    for i, control in enumerate(controls_file.controls):
        applies = None
        if control.applies_when is not None:
            applies = compiler.compile(
                sources["controls.yaml"], ("controls", i, "applies_when"), control.applies_when
            )
        controls.append((control, applies))
    checks = [
        (
            check,
            compiler.compile(
                sources["vocabulary.yaml"], ("vocabulary_checks", i, "values"), check.values
            ),
        )
        for i, check in enumerate(vocabulary_file.vocabulary_checks)
    ]
    problems = compiler.problems + _cross_reference_problems(
        sources, controls_file, tiers_file, evaluation_file
    )
    if problems:
        raise PolicyError(problems)

    documents = {name: sources[name].data for name in PACK_FILES}
    sha256 = hashlib.sha256(rfc8785.dumps(documents)).hexdigest()
    pack = PolicyPack(
        directory=directory,
        ref=PolicyRef(name=pack_file.name, version=pack_file.version, sha256=sha256),
        info=pack_file,
        vocabulary=dict(vocabulary_file.vocabulary),
        vocabulary_checks=tuple((check, _compiled(expr)) for check, expr in checks),
        definitions=tuple((name, _compiled(expr)) for name, expr in definitions),
        rules=tuple(
            CompiledRule(
                rule=rule,
                when=_compiled(when),
                details=tuple((name, _compiled(expr)) for name, expr in details),
            )
            for rule, when, details in rules
        ),
        controls={
            control.id: CompiledControl(control=control, applies_when=applies)
            for control, applies in controls
        },
        tiers=dict(tiers_file.tiers),
        evaluation=evaluation_file,
        material_rules=tuple(material_file.rules),
        documents=documents,
    )
    _probe(pack, compiler)
    return pack


def _read_and_validate(directory: Path) -> tuple[dict[str, _Source], dict[str, BaseModel]]:
    problems: list[PolicyProblem] = []
    if not directory.is_dir():
        raise PolicyError([PolicyProblem(str(directory), None, "", "not a directory")])
    sources: dict[str, _Source] = {}
    models: dict[str, BaseModel] = {}
    for name, model in PACK_FILES.items():
        path = directory / name
        try:
            source = _Source(name, path.read_text(encoding="utf-8"))
        except OSError as exc:
            problems.append(PolicyProblem(name, None, "", f"unreadable: {exc.strerror}"))
            continue
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = None if mark is None else int(mark.line) + 1
            problems.append(PolicyProblem(name, line, "", f"invalid YAML: {exc}"))
            continue
        sources[name] = source
        try:
            models[name] = model.model_validate(source.data)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                problems.append(source.problem(error["loc"], error["msg"]))
    if problems:
        raise PolicyError(problems)
    return sources, models


def _model(models: dict[str, BaseModel], name: str, kind: type[M]) -> M:
    model = models[name]
    assert isinstance(model, kind)
    return model


def _compiled(expression: Expression | None) -> Expression:
    # Only reached when no compile problem was recorded, so every expression compiled.
    assert expression is not None
    return expression


def _cross_reference_problems(
    sources: dict[str, _Source],
    controls_file: ControlsFile,
    tiers_file: TiersFile,
    evaluation_file: EvaluationFile,
) -> list[PolicyProblem]:
    problems: list[PolicyProblem] = []
    library = {control.id: control for control in controls_file.controls}
    tiers_source = sources["tiers.yaml"]
    for tier, requirements in tiers_file.tiers.items():
        for i, control_id in enumerate(requirements.controls):
            loc: tuple[str | int, ...] = ("tiers", tier.value, "controls", i)
            control = library.get(control_id)
            if control is None:
                problems.append(tiers_source.problem(loc, f"unknown control {control_id!r}"))
                continue
            for evidence in control.evidence:
                if evidence.kind is EvidenceKind.APPROVAL and not requirements.approvals:
                    problems.append(
                        tiers_source.problem(loc, f"{control_id} needs approvals, tier has none")
                    )
                for metric in evidence.metrics:
                    policy = evaluation_file.metrics.get(metric)
                    if policy is None or tier not in policy.thresholds:
                        problems.append(
                            tiers_source.problem(
                                loc,
                                f"{control_id} checks {metric!r}, which has no {tier.value} "
                                "threshold in evaluation.yaml",
                            )
                        )
    return problems


def _probe(pack: PolicyPack, compiler: _Compiler) -> None:
    """Evaluate every expression on two probe manifests, so mistakes fail at load, not on an event."""
    problems: list[PolicyProblem] = []
    for manifest in _PROBES:
        try:
            variables = pack.scopes.scope(manifest.to_document())
        except RuleEvaluationError as exc:
            problems.append(_problem_of(compiler, exc))
            continue
        for source, loc, expression in compiler.compiled:
            if loc[0] == "definitions":
                continue
            try:
                if loc[-1] in ("when", "applies_when"):
                    expression.evaluate_bool(variables)
                else:
                    expression.evaluate_strings(variables)
            except RuleEvaluationError as exc:
                problems.append(source.problem(loc, str(exc).split(": ", 1)[-1]))
    if problems:
        raise PolicyError(sorted(set(problems), key=str))


def _problem_of(compiler: _Compiler, exc: RuleEvaluationError) -> PolicyProblem:
    for source, loc, expression in compiler.compiled:
        if expression.where == exc.where:
            return source.problem(loc, str(exc).split(": ", 1)[-1])
    return PolicyProblem("tier-rules.yaml", None, "definitions", str(exc))


def _probe_manifest(*, full: bool) -> AISystemManifest:
    many = ["probe"] if full else []
    genai: dict[str, Any] = {"generative": full}
    if full:
        genai |= {
            "promptTemplates": [{"id": "p", "sha256": "0" * 64}],
            "retrieval": {"corpora": [{"id": "c", "dataClasses": ["personal-data"]}]},
            "safetyFilters": {"policy": "strict"},
        }
    return AISystemManifest.model_validate(
        {
            "apiVersion": "aigov.io/v1",
            "kind": "AISystem",
            "metadata": {
                "id": "probe",
                "name": "probe",
                "owner": "probe@aigov.invalid",
                "team": "probe",
            },
            "spec": {
                "purpose": "policy pack probe",
                "useCase": {"category": "probe", "annexIII": many, "prohibitedPractices": many},
                "users": {"population": many, "includesMinors": full, "public": full},
                "deployment": {"surfaces": many, "environments": many, "regions": many},
                "data": {
                    "classes": ["personal-data"] if full else [],
                    "trainingSources": [{"id": "d", "version": "1"}] if full else [],
                    **({"labelPolicy": "probe"} if full else {}),
                },
                "model": {
                    "type": "llm" if full else "other",
                    "architecture": "probe",
                    "thirdParty": [{"vendor": "v", "model": "m", "license": "l"}] if full else [],
                },
                "genai": genai,
                "agent": {
                    "autonomous": full,
                    "tools": [{"name": "t", "capabilities": ["write"]}] if full else [],
                },
                "humanOversight": "probe",
            },
        }
    )


_PROBES: Final = (_probe_manifest(full=False), _probe_manifest(full=True))
