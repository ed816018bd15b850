"""JUnit XML test reports (pytest, Maven Surefire, Jest, Go's gotestsum, ...) as evaluation metrics.

Counts come from the `<testcase>` elements, not the suites' `tests=`/`failures=`
attributes, which some producers omit or get wrong. Parsed with defusedxml: a report is
produced by the build being evaluated, so it is not trusted not to hold an entity bomb.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]

from aigov_cli.errors import CliError


@dataclass(frozen=True)
class JUnitReport:
    """What a JUnit report says: test counts and the report's own name."""

    name: str | None
    tests: int
    failures: int
    errors: int
    skipped: int

    @property
    def passed(self) -> int:
        """Tests that ran and passed."""
        return self.tests - self.failures - self.errors - self.skipped

    def metrics(self) -> list[dict[str, Any]]:
        """The report as `evaluation.completed` metrics (direction fixed by meaning)."""
        ran = self.tests - self.skipped
        return [
            {"name": "tests_passed", "value": self.passed, "higher_is_better": True},
            {
                "name": "tests_failed",
                "value": self.failures + self.errors,
                "higher_is_better": False,
            },
            {"name": "tests_skipped", "value": self.skipped, "higher_is_better": False},
            {
                "name": "test_pass_rate",
                "value": round(self.passed / ran, 6) if ran else 0.0,
                "higher_is_better": True,
            },
        ]


def parse_junit(path: str, raw: bytes) -> JUnitReport:
    """A JUnit XML report, or an error naming the file and the line of the problem."""
    try:
        root: Element = fromstring(raw)
    except ParseError as exc:
        line, column = exc.position
        raise CliError(f"{path}:{line}:{column + 1}: not well-formed XML ({exc.msg})") from None
    except DefusedXmlException as exc:
        raise CliError(f"{path}: refused: the XML declares {exc} (not a JUnit report)") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise CliError(
            f"{path}: not a JUnit report: the root element is <{root.tag}>, "
            "expected <testsuites> or <testsuite>"
        )
    cases = list(root.iter("testcase"))
    if not cases:
        raise CliError(f"{path}: the JUnit report has no <testcase>: nothing was tested")
    failures = errors = skipped = 0
    for case in cases:
        if case.find("failure") is not None:
            failures += 1
        elif case.find("error") is not None:
            errors += 1
        elif case.find("skipped") is not None:
            skipped += 1
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    name = root.get("name") or (suites[0].get("name") if len(suites) == 1 else None)
    return JUnitReport(
        name=name, tests=len(cases), failures=failures, errors=errors, skipped=skipped
    )


def combine(reports: list[JUnitReport]) -> JUnitReport:
    """Reports of one run's shards as one (counts summed, the first report's name)."""
    return JUnitReport(
        name=next((r.name for r in reports if r.name), None),
        tests=sum(r.tests for r in reports),
        failures=sum(r.failures for r in reports),
        errors=sum(r.errors for r in reports),
        skipped=sum(r.skipped for r in reports),
    )
