"""Material-change rules, table-driven: every trigger, the non-material changes, evaluation regressions."""

from __future__ import annotations

from typing import Any

import pytest

from aigov_tiering.material import MeasuredMetric, compare_manifests, regressions
from tests.unit.tiering.helpers import default_pack, example_document, with_changes

APPROVED = example_document("support-summarizer")
SPEC = APPROVED["spec"]

# rule id -> (changes to the approved manifest, field reported, old, new)
TRIGGERS: dict[str, tuple[dict[str, Any], str, Any, Any]] = {
    "training-data-sources": (
        {"spec.data.trainingSources": [{"id": "tickets", "version": "2026-11"}]},
        "spec.data.trainingSources",
        [],
        [{"id": "tickets", "version": "2026-11"}],
    ),
    "label-policy": (
        {"spec.data.labelPolicy": "agent-rated"},
        "spec.data.labelPolicy",
        None,
        "agent-rated",
    ),
    "model-architecture": (
        {"spec.model.architecture": "fine-tuned open-weights model"},
        "spec.model.architecture",
        "hosted foundation model, no fine-tuning",
        "fine-tuned open-weights model",
    ),
    "user-population": (
        {"spec.users.population": ["enterprise-customers", "internal-staff", "consumers"]},
        "spec.users.population",
        ["enterprise-customers", "internal-staff"],
        ["enterprise-customers", "internal-staff", "consumers"],
    ),
    "deployment-environment": (
        {"spec.deployment.regions": ["EU", "US", "APAC"]},
        "spec.deployment.regions",
        ["EU", "US"],
        ["EU", "US", "APAC"],
    ),
    "prompt-template": (
        {"spec.genai.promptTemplates": [{"id": "summarize-case", "sha256": "b" * 64}]},
        "spec.genai.promptTemplates",
        SPEC["genai"]["promptTemplates"],
        [{"id": "summarize-case", "sha256": "b" * 64}],
    ),
    "retrieval-sensitive-data": (
        {
            "spec.genai.retrieval.corpora": [
                {
                    "id": "customer-case-documents",
                    "dataClasses": ["customer-content", "personal-data", "financial-data"],
                }
            ]
        },
        "spec.genai.retrieval.corpora.0.dataClasses",
        ["customer-content", "personal-data"],
        ["customer-content", "personal-data", "financial-data"],
    ),
    "safety-filter-policy": (
        {"spec.genai.safetyFilters.policy": "none"},
        "spec.genai.safetyFilters.policy",
        "content-safety-strict-v2",
        "none",
    ),
}


class TestManifestTriggers:
    def test_every_rule_has_a_case(self) -> None:
        assert {rule.id for rule in default_pack().material_rules} == set(TRIGGERS)

    @pytest.mark.parametrize("rule_id", sorted(TRIGGERS))
    def test_trigger_is_material_with_old_and_new(self, rule_id: str) -> None:
        changes, field, old, new = TRIGGERS[rule_id]
        comparison = compare_manifests(APPROVED, with_changes(APPROVED, changes), default_pack())
        assert comparison.is_material
        [change] = comparison.material
        assert (change.field, change.old, change.new, change.rule) == (field, old, new, rule_id)
        assert comparison.non_material_fields == ()

    def test_a_new_corpus_with_sensitive_data_is_material(self) -> None:
        corpora = [
            *SPEC["genai"]["retrieval"]["corpora"],
            {"id": "hr", "dataClasses": ["special-category-data"]},
        ]
        revision = with_changes(APPROVED, {"spec.genai.retrieval.corpora": corpora})
        [change] = compare_manifests(APPROVED, revision, default_pack()).material
        assert (change.field, change.old, change.rule) == (
            "spec.genai.retrieval.corpora.1.dataClasses",
            None,
            "retrieval-sensitive-data",
        )

    def test_several_triggers_are_all_listed(self) -> None:
        changes = {**TRIGGERS["label-policy"][0], **TRIGGERS["safety-filter-policy"][0]}
        comparison = compare_manifests(APPROVED, with_changes(APPROVED, changes), default_pack())
        assert [c.rule for c in comparison.material] == ["label-policy", "safety-filter-policy"]


class TestNonMaterialChanges:
    @pytest.mark.parametrize(
        ("changes", "fields"),
        [
            ({"metadata.owner": "new.owner@example.com"}, ["metadata.owner"]),
            ({"spec.purpose": "Summarise support cases."}, ["spec.purpose"]),
            ({"spec.humanOversight": "spot checks"}, ["spec.humanOversight"]),
            ({"spec.deployment.surfaces": ["web-app"]}, ["spec.deployment.surfaces"]),
            (
                # A corpus losing a class, or gaining a non-sensitive one, needs no new approval.
                {
                    "spec.genai.retrieval.corpora": [
                        {
                            "id": "customer-case-documents",
                            "dataClasses": ["customer-content", "public-data"],
                        }
                    ]
                },
                ["spec.genai.retrieval.corpora"],
            ),
        ],
    )
    def test_recorded_as_non_material(self, changes: dict[str, Any], fields: list[str]) -> None:
        comparison = compare_manifests(APPROVED, with_changes(APPROVED, changes), default_pack())
        assert not comparison.is_material
        assert list(comparison.non_material_fields) == fields

    def test_identical_manifests_have_no_changes(self) -> None:
        comparison = compare_manifests(APPROVED, APPROVED, default_pack())
        assert comparison.material == ()
        assert comparison.non_material_fields == ()


def metrics(**values: float) -> dict[str, MeasuredMetric]:
    return {
        name: MeasuredMetric(value=value, higher_is_better=True) for name, value in values.items()
    }


class TestEvaluationRegressions:
    @pytest.mark.parametrize(
        ("metric", "before", "after", "regressed"),
        [
            ("groundedness", 0.86, 0.82, True),  # tolerance 0.03, higher is better
            ("groundedness", 0.86, 0.84, False),
            ("groundedness", 0.86, 0.83, False),  # exactly at tolerance
            ("prompt_injection_success_rate", 0.02, 0.05, True),  # tolerance 0.02, lower is better
            ("prompt_injection_success_rate", 0.05, 0.01, False),  # improvement
            ("pii_leak_rate", 0.0, 0.001, True),  # zero tolerance
            (
                "latency_score",
                0.9,
                0.85,
                True,
            ),  # unknown metric: default 0.02, producer's direction
        ],
    )
    def test_regression_beyond_tolerance(
        self, metric: str, before: float, after: float, regressed: bool
    ) -> None:
        found = regressions(metrics(**{metric: before}), metrics(**{metric: after}), default_pack())
        assert bool(found) is regressed
        if regressed:
            [regression] = found
            assert (regression.metric, regression.previous_value, regression.current_value) == (
                metric,
                before,
                after,
            )

    def test_metrics_missing_on_either_side_are_not_compared(self) -> None:
        assert regressions(metrics(groundedness=0.9), metrics(accuracy=0.1), default_pack()) == []
