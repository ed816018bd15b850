"""Errors in a policy pack, each naming the file, line and field at fault."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One thing wrong in a policy pack: where (file, line, field) and what."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.field or '(document)'}: {self.message}"


class PolicyError(Exception):
    """A policy pack failed to load; `problems` lists every error found."""

    def __init__(self, problems: Sequence[PolicyProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            "invalid policy pack:\n" + "\n".join(f"  {problem}" for problem in self.problems)
        )


class RuleEvaluationError(Exception):
    """A policy expression failed on a manifest (e.g. it read an absent optional field)."""

    def __init__(self, where: str, detail: str) -> None:
        self.where = where
        super().__init__(f"{where}: {detail}")
