"""JUnit XML reports as evaluation metrics."""

from __future__ import annotations

import pytest

from aigov_cli.errors import CliError
from aigov_cli.junit import JUnitReport, combine, parse_junit

PYTEST = b"""<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">
<testsuite name="pytest" errors="0" failures="1" skipped="1" tests="4" time="0.5">
<testcase classname="t" name="a" time="0.1"/>
<testcase classname="t" name="b" time="0.1"><failure message="assert 1 == 2">x</failure></testcase>
<testcase classname="t" name="c" time="0.1"><skipped type="pytest.skip" message="later"/></testcase>
<testcase classname="t" name="d" time="0.1"><error message="fixture broke"/></testcase>
</testsuite></testsuites>"""

SUREFIRE = b"""<testsuite name="com.acme.SafetyTest" tests="2">
  <testcase name="noPii" classname="com.acme.SafetyTest"/>
  <testcase name="noToxicity" classname="com.acme.SafetyTest"/>
</testsuite>"""


class TestParse:
    def test_a_pytest_report(self) -> None:
        report = parse_junit("r.xml", PYTEST)
        assert report == JUnitReport(name="pytest tests", tests=4, failures=1, errors=1, skipped=1)
        assert {m["name"]: m["value"] for m in report.metrics()} == {
            "tests_passed": 1,
            "tests_failed": 2,
            "tests_skipped": 1,
            "test_pass_rate": pytest.approx(1 / 3, abs=1e-6),
        }

    def test_a_single_suite_root_names_the_report(self) -> None:
        report = parse_junit("r.xml", SUREFIRE)
        assert (report.name, report.passed) == ("com.acme.SafetyTest", 2)
        assert report.metrics()[-1] == {
            "name": "test_pass_rate",
            "value": 1.0,
            "higher_is_better": True,
        }

    def test_shards_are_summed(self) -> None:
        total = combine([parse_junit("a", PYTEST), parse_junit("b", SUREFIRE)])
        assert (total.tests, total.failures, total.errors, total.skipped) == (6, 1, 1, 1)

    def test_all_skipped_has_a_zero_pass_rate(self) -> None:
        report = parse_junit(
            "r.xml", b"<testsuite><testcase name='a'><skipped/></testcase></testsuite>"
        )
        assert report.metrics()[-1]["value"] == 0.0


class TestParseErrors:
    def test_not_xml(self) -> None:
        with pytest.raises(CliError, match=r"^r.xml:1:1: not well-formed XML"):
            parse_junit("r.xml", b"PASSED 4 tests")

    def test_another_xml_document(self) -> None:
        with pytest.raises(CliError, match="the root element is <html>"):
            parse_junit("r.xml", b"<html><body/></html>")

    def test_no_testcases(self) -> None:
        with pytest.raises(CliError, match="no <testcase>: nothing was tested"):
            parse_junit("r.xml", b"<testsuites/>")

    def test_entity_expansion_is_refused(self) -> None:
        bomb = (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><testsuite><testcase name="&lol2;"/></testsuite>'
        )
        with pytest.raises(CliError, match=r"r\.xml: refused"):
            parse_junit("r.xml", bomb)
