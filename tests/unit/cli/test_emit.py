"""`aigov emit evaluation|artifact|deployment` against the real intake."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from aigov_events.topics import LIFECYCLE
from tests.unit.cli.conftest import Aigov, Intake, example, new_system

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites>
  <testsuite name="release-evaluation" tests="4">
    <testcase classname="safety" name="test_no_pii"/>
    <testcase classname="safety" name="test_toxicity"><failure message="0.3 &gt; 0.1"/></testcase>
    <testcase classname="quality" name="test_grounded"/>
    <testcase classname="quality" name="test_slow"><skipped/></testcase>
  </testsuite>
</testsuites>
"""


def release_flags(system: str) -> list[str]:
    """--system/--version for a fresh release."""
    return ["--system", system, "--version", "2026.11.3"]


class TestEvaluation:
    def test_the_public_example_file_unchanged(self, aigov: Aigov, intake: Intake) -> None:
        from tests.unit.cli.conftest import EXAMPLES

        result = aigov("emit", "evaluation", "-f", str(EXAMPLES / "requests" / "evaluation.json"))
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("accepted evaluation.completed for support-summarizer")

    def test_a_junit_report_becomes_evaluation_completed(
        self, aigov: Aigov, intake: Intake, tmp_path: Path
    ) -> None:
        system = new_system()
        report = tmp_path / "junit.xml"
        report.write_text(JUNIT)
        result = aigov(
            "emit",
            "evaluation",
            *release_flags(system),
            "--junit",
            str(report),
            "--dataset",
            "support-eval-set:7:s3://ml-evals/support/7/eval.parquet",
            "--run-id",
            "8812",
            "--commit",
            "9f2c1e7",
        )
        assert result.exit_code == 0, result.output
        (event,) = intake.events(LIFECYCLE, system=system)
        assert event.event_type == "io.aigov.evaluation.completed.v1"
        assert event.data["suite"] == "release-evaluation"
        assert event.data["datasets"] == [
            {
                "id": "support-eval-set",
                "version": "7",
                "uri": "s3://ml-evals/support/7/eval.parquet",
            }
        ]
        metrics = {m["name"]: (m["value"], m["higher_is_better"]) for m in event.data["metrics"]}
        assert metrics == {
            "tests_passed": (2, True),
            "tests_failed": (1, False),
            "tests_skipped": (1, False),
            "test_pass_rate": (pytest.approx(2 / 3, abs=1e-6), True),
        }
        assert event.data["run"] == {"id": "8812", "commit": "9f2c1e7"}

    def test_a_flat_metrics_file_with_directions_and_the_ci_run(
        self, aigov: Aigov, intake: Intake, tmp_path: Path
    ) -> None:
        system = new_system()
        metrics = tmp_path / "metrics.json"
        metrics.write_text(json.dumps({"groundedness": 0.86, "toxicity_rate": 0.002}))
        result = aigov(
            "emit",
            "evaluation",
            *release_flags(system),
            "--suite",
            "release-evaluation",
            "--metrics",
            str(metrics),
            "--metric",
            "pii_leak_rate=0",
            "--higher-is-better",
            "groundedness",
            "--lower-is-better",
            "toxicity_rate",
            "--lower-is-better",
            "pii_leak_rate",
            "--dataset",
            "support-eval-set:7",
            github_actions="true",
            github_run_id="4242",
            github_repository="acme/support",
            github_server_url="https://github.com",
            github_sha="9f2c1e7aa",
        )
        assert result.exit_code == 0, result.output
        (event,) = intake.events(LIFECYCLE, system=system)
        assert [(m["name"], m["higher_is_better"]) for m in event.data["metrics"]] == [
            ("groundedness", True),
            ("toxicity_rate", False),
            ("pii_leak_rate", False),
        ]
        assert event.data["run"] == {
            "id": "4242",
            "url": "https://github.com/acme/support/actions/runs/4242",
            "commit": "9f2c1e7aa",
        }

    def test_flags_override_the_file_and_the_event_is_remembered(
        self, aigov: Aigov, intake: Intake, tmp_path: Path
    ) -> None:
        system = new_system()
        body = example("evaluation.json", tmp_path)
        result = aigov("emit", "evaluation", "-f", str(body), *release_flags(system), "--json")
        assert result.exit_code == 0, result.output
        answer = json.loads(result.stdout)
        assert (answer["system_id"], answer["duplicate"]) == (system, False)
        state = json.loads((tmp_path / "emitted.json").read_text())["events"]
        assert [(e["event_id"], e["version"]) for e in state] == [(answer["event_id"], "2026.11.3")]


class TestEvaluationErrors:
    def test_a_metric_without_a_direction(self, aigov: Aigov, tmp_path: Path) -> None:
        result = aigov(
            "emit",
            "evaluation",
            *release_flags(new_system()),
            "--suite",
            "s",
            "--dataset",
            "d:1",
            "--run-id",
            "1",
            "--metric",
            "groundedness=0.9",
        )
        assert result.exit_code == 2
        assert "say whether higher or lower is better for ['groundedness']" in result.stderr

    def test_missing_fields_are_named_as_flags(self, aigov: Aigov) -> None:
        result = aigov(
            "emit", "evaluation", "--system", "x", "--metric", "a=1", "--higher-is-better", "a"
        )
        assert result.exit_code == 2
        assert "missing --version, --suite, --dataset, --run-id" in result.stderr

    def test_malformed_junit_names_the_line(self, aigov: Aigov, tmp_path: Path) -> None:
        report = tmp_path / "junit.xml"
        report.write_text("<testsuite>\n  <testcase name='a'>\n</testsuite>\n")
        result = aigov("emit", "evaluation", *release_flags(new_system()), "--junit", str(report))
        assert result.exit_code == 2
        assert f"{report}:3:3: not well-formed XML" in result.stderr

    def test_malformed_json_names_the_line(self, aigov: Aigov, tmp_path: Path) -> None:
        body = tmp_path / "evaluation.json"
        body.write_text('{\n  "system": "x",\n  "version": 1,,\n}')
        result = aigov("emit", "evaluation", "-f", str(body))
        assert result.exit_code == 2
        assert f"{body}:3:16: invalid JSON" in result.stderr

    def test_server_field_errors_are_listed(self, aigov: Aigov, tmp_path: Path) -> None:
        body = example("evaluation.json", tmp_path, system=new_system())
        result = aigov("emit", "evaluation", "-f", str(body), "--commit", "not-hex")
        assert result.exit_code == 2
        assert ": 422 " in result.stderr
        assert "  - run.commit: String should match pattern" in result.stderr


class TestArtifact:
    def test_flags_and_a_document_hash(self, aigov: Aigov, intake: Intake, tmp_path: Path) -> None:
        system = new_system()
        card = tmp_path / "model-card.md"
        card.write_text("# Model card\n")
        result = aigov(
            "emit",
            "artifact",
            *release_flags(system),
            "--kind",
            "model_card",
            "--title",
            "Model card",
            "--uri",
            "https://docs.example.com/card",
            "--document",
            str(card),
            "--section",
            "intended_use=Summaries for agents",
        )
        assert result.exit_code == 0, result.output
        (event,) = intake.events(LIFECYCLE, system=system)
        assert event.event_type == "io.aigov.artifact.submitted.v1"
        assert event.data["sha256"] == hashlib.sha256(b"# Model card\n").hexdigest()
        assert event.data["sections"] == {"intended_use": "Summaries for agents"}

    def test_the_public_example_file(self, aigov: Aigov, intake: Intake, tmp_path: Path) -> None:
        system = new_system()
        result = aigov(
            "emit", "artifact", "-f", str(example("artifact.json", tmp_path, system=system))
        )
        assert result.exit_code == 0, result.output
        assert intake.events(LIFECYCLE, system=system)[0].data["kind"] == "model_card"

    def test_sha256_and_document_together(self, aigov: Aigov, tmp_path: Path) -> None:
        result = aigov("emit", "artifact", "--sha256", "ab", "--document", str(tmp_path / "x"))
        assert (result.exit_code, "give --sha256 or --document, not both" in result.stderr) == (
            2,
            True,
        )


class TestDeployment:
    def test_flags_with_the_gitlab_pipeline(self, aigov: Aigov, intake: Intake) -> None:
        system = new_system()
        result = aigov(
            "emit",
            "deployment",
            *release_flags(system),
            "--environment",
            "production",
            "--region",
            "EU",
            "--status",
            "completed",
            "--outcome",
            "succeeded",
            gitlab_ci="true",
            ci_pipeline_id="4410",
            ci_pipeline_url="https://gitlab.example.com/ml/support/-/pipelines/4410",
        )
        assert result.exit_code == 0, result.output
        (event,) = intake.events(LIFECYCLE, system=system)
        assert event.event_type == "io.aigov.deployment.completed.v1"
        assert event.data["pipeline"] == {
            "id": "4410",
            "url": "https://gitlab.example.com/ml/support/-/pipelines/4410",
        }

    def test_the_public_example_file(self, aigov: Aigov, intake: Intake, tmp_path: Path) -> None:
        system = new_system()
        body = example("deployment.json", tmp_path, system=system)
        assert aigov("emit", "deployment", "-f", str(body)).exit_code == 0
        assert intake.events(LIFECYCLE, system=system)[0].event_type == (
            "io.aigov.deployment.requested.v1"
        )

    def test_a_field_that_does_not_fit_the_status(self, aigov: Aigov) -> None:
        result = aigov(
            "emit",
            "deployment",
            *release_flags(new_system()),
            "--environment",
            "production",
            "--region",
            "EU",
            "--to-version",
            "2026.10.1",
        )
        assert result.exit_code == 2
        assert "  - to_version: only allowed when status is 'rolled_back'" in result.stderr
