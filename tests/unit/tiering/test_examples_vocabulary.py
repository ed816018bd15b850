"""The default pack knows every control id and metric name the public examples use."""

from __future__ import annotations

import json
import re
from pathlib import Path

from aigov_events.catalog.enums import KNOWN_ARTIFACT_KINDS, KNOWN_SIGNALS
from tests.unit.tiering.helpers import EXAMPLES, default_pack

CONTROL_PREFIXES = ("artifact", "evaluation", "approval", "monitoring", "lineage", "governance")
# Dotted lower-case ids, not host names (`monitoring.example.com`) or files (`evaluation.json`).
CONTROL_ID = re.compile(
    rf"\b(?:{'|'.join(CONTROL_PREFIXES)})\.(?!json\b|yaml\b)[a-z_]+\b(?![.\w-])"
)


def example_files() -> list[Path]:
    # The input examples and their README; the CI configurations beside them in examples/
    # name event types (`lineage.recorded`), which read like control ids.
    inputs = [p for kind in ("systems", "requests") for p in (EXAMPLES / kind).iterdir()]
    return sorted([EXAMPLES / "README.md", *(p for p in inputs if p.is_file())])


def test_examples_folder_is_there() -> None:
    assert len(example_files()) >= 5


def test_every_control_id_in_the_examples_is_in_the_pack() -> None:
    used = {m for path in example_files() for m in CONTROL_ID.findall(path.read_text("utf-8"))}
    assert {"artifact.model_card", "evaluation.prompt_injection", "approval.release"} <= used
    assert used <= set(default_pack().controls), used - set(default_pack().controls)


def test_every_metric_name_in_the_examples_is_in_the_pack() -> None:
    used: set[str] = set()
    for path in (EXAMPLES / "requests").glob("*.json"):
        body = json.loads(path.read_text("utf-8"))
        used |= {metric["name"] for metric in body.get("metrics", [])}
    assert used == {
        "groundedness",
        "toxicity_rate",
        "pii_leak_rate",
        "prompt_injection_success_rate",
    }
    assert used <= set(default_pack().evaluation.metrics)


def test_example_artifact_satisfies_the_model_card_sections() -> None:
    artifact = json.loads((EXAMPLES / "requests" / "artifact.json").read_text("utf-8"))
    [evidence] = default_pack().controls["artifact.model_card"].control.evidence
    assert evidence.artifact_kind == artifact["kind"]
    assert set(evidence.required_sections) <= set(artifact["sections"])


def test_monitoring_signals_are_known_to_the_router() -> None:
    signals = {
        signal
        for compiled in default_pack().controls.values()
        for evidence in compiled.control.evidence
        for signal in evidence.signals
    }
    assert signals <= KNOWN_SIGNALS


def test_catalog_artifact_kinds_all_have_a_control() -> None:
    kinds = {
        evidence.artifact_kind
        for compiled in default_pack().controls.values()
        for evidence in compiled.control.evidence
    }
    assert KNOWN_ARTIFACT_KINDS - {"evaluation_report"} <= kinds
