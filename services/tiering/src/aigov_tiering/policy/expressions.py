"""CEL expressions of a policy pack: compiled once at load, evaluated without `eval`.

CEL (https://cel.dev) is non-Turing-complete and side-effect free: an expression can only
read the variables it is given, always terminates, and cannot touch the process. The
Rust interpreter behind `common-expression-language` evaluates a compiled program in
microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cel

from aigov_tiering.policy.errors import RuleEvaluationError


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled CEL expression and where it came from (`file:line field`)."""

    source: str
    where: str
    program: cel.Program

    def evaluate(self, variables: cel.Context) -> Any:
        """The expression's value over `variables`; RuleEvaluationError if it fails."""
        try:
            return self.program.execute(variables)
        except (RuntimeError, ValueError, TypeError, KeyError) as exc:
            raise RuleEvaluationError(self.where, _message(exc)) from None

    def evaluate_bool(self, variables: cel.Context) -> bool:
        """The expression's value, which must be a boolean."""
        value = self.evaluate(variables)
        if not isinstance(value, bool):
            raise RuleEvaluationError(self.where, f"expected a bool, got {type(value).__name__}")
        return value

    def evaluate_strings(self, variables: cel.Context) -> list[str]:
        """The expression's value as a list of strings (a single value becomes a 1-item list)."""
        value = self.evaluate(variables)
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str | int | float | bool) for item in items):
            raise RuleEvaluationError(self.where, "expected a string or a list of strings")
        return [_text(item) for item in items]


def compile_expression(source: str, *, where: str) -> Expression:
    """Compile `source`; raises ValueError with the parser's message on a syntax error."""
    try:
        program = cel.compile(source)
    except (ValueError, RuntimeError) as exc:
        raise ValueError(_message(exc)) from None
    return Expression(source=source, where=where, program=program)


def _text(item: str | float | bool) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    return str(item)


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"no field {exc.args[0]!r} (guard optional fields with has(...))"
    return " ".join(str(exc).split())
