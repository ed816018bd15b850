"""Every default tier rule, table-driven, plus the public examples and the EU scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aigov_events.catalog.enums import EvidenceKind, Tier
from aigov_events.catalog.manifest import AISystemManifest
from aigov_tiering.engine import decide
from tests.unit.tiering.helpers import SYSTEMS, default_pack, example_document, manifest

# rule id -> (manifest changes against the low-risk base, expected tier, words in the reason)
RULE_CASES: dict[str, tuple[dict[str, Any], Tier, list[str]]] = {
    "eu-ai-act-art5-prohibited-practice": (
        {"spec__useCase__prohibitedPractices": ["social-scoring"]},
        Tier.PROHIBITED,
        ["social-scoring", "Art. 5(1)(c)"],
    ),
    "eu-ai-act-annex-iii": (
        {"spec__useCase__annexIII": ["employment"]},
        Tier.HIGH,
        ["employment", "point 4"],
    ),
    "genai-customer-facing-sensitive-data": (
        {
            "spec__genai__generative": True,
            "spec__model__type": "llm",
            "spec__users__population": ["enterprise-customers"],
            "spec__data__classes": ["customer-content"],
        },
        Tier.HIGH,
        ["customer-facing generative AI", "enterprise-customers", "customer-content", "EU"],
    ),
    "autonomous-agent-acting-tools": (
        {
            "spec__agent__autonomous": True,
            "spec__agent__tools": [{"name": "refund", "capabilities": ["financial"]}],
        },
        Tier.HIGH,
        ["autonomous agent", "refund", "financial"],
    ),
    "minors-sensitive-data": (
        {"spec__users__includesMinors": True, "spec__data__classes": ["personal-data"]},
        Tier.HIGH,
        ["minors", "personal-data"],
    ),
    "special-category-data": (
        {"spec__data__classes": ["special-category-data"]},
        Tier.HIGH,
        ["special-category-data", "GDPR Art. 9"],
    ),
    "genai-customer-facing": (
        {
            "spec__genai__generative": True,
            "spec__users__population": ["consumers"],
            "spec__data__classes": ["public-data"],
        },
        Tier.MEDIUM,
        ["consumers", "Art. 50"],
    ),
    "sensitive-data": (
        {"spec__data__classes": ["personal-data"]},
        Tier.MEDIUM,
        ["personal-data"],
    ),
    "autonomous-agent": (
        {
            "spec__agent__autonomous": True,
            "spec__agent__tools": [{"name": "search", "capabilities": ["read-only"]}],
        },
        Tier.MEDIUM,
        ["search"],
    ),
    "public-or-minors": (
        {"spec__users__public": True},
        Tier.MEDIUM,
        ["the public"],
    ),
    "internal-productivity-non-sensitive": ({}, Tier.LOW, ["internal-staff", "internal-docs"]),
}


class TestDefaultRules:
    def test_every_rule_has_a_case(self) -> None:
        assert {compiled.rule.id for compiled in default_pack().rules} == set(RULE_CASES)

    @pytest.mark.parametrize("rule_id", sorted(RULE_CASES))
    def test_rule_fires_with_its_tier_and_reason(self, rule_id: str) -> None:
        changes, tier, words = RULE_CASES[rule_id]
        decision = decide(manifest(**changes), default_pack())
        assert decision.tier is tier
        fired = {rule.rule_id: rule.reason for rule in decision.rules}
        assert rule_id in fired, fired
        for word in words:
            assert word in fired[rule_id]

    @pytest.mark.parametrize(
        ("area", "point"),
        [
            ("biometrics", "point 1"),
            ("critical-infrastructure", "point 2"),
            ("education", "point 3"),
            ("employment", "point 4"),
            ("essential-services", "point 5"),
            ("law-enforcement", "point 6"),
            ("migration", "point 7"),
            ("justice-democracy", "point 8"),
        ],
    )
    def test_each_annex_iii_area_is_high(self, area: str, point: str) -> None:
        decision = decide(manifest(spec__useCase__annexIII=[area]), default_pack())
        assert decision.tier is Tier.HIGH
        assert point in decision.rules[0].reason

    @pytest.mark.parametrize(
        "practice",
        sorted(default_pack().vocabulary["article_5_practices"]),
    )
    def test_each_article_5_practice_is_prohibited(self, practice: str) -> None:
        decision = decide(manifest(spec__useCase__prohibitedPractices=[practice]), default_pack())
        assert decision.tier is Tier.PROHIBITED
        assert practice in decision.rules[0].reason
        assert decision.required_controls == ()

    @pytest.mark.parametrize("capability", ["write", "financial", "external-communication"])
    def test_autonomous_agents_with_acting_tools_are_high(self, capability: str) -> None:
        tools = [{"name": "tool", "capabilities": ["read-only", capability]}]
        decision = decide(
            manifest(spec__agent__autonomous=True, spec__agent__tools=tools), default_pack()
        )
        assert decision.tier is Tier.HIGH
        assert [rule.rule_id for rule in decision.rules] == ["autonomous-agent-acting-tools"]

    def test_unmatched_manifest_gets_the_default_tier_without_rules(self) -> None:
        # Customer-facing, not generative, non-sensitive data: no rule matches.
        decision = decide(
            manifest(spec__users__population=["consumers"], spec__data__classes=["public-data"]),
            default_pack(),
        )
        assert decision.tier is default_pack().info.default_tier is Tier.MEDIUM
        assert decision.rules == ()

    def test_most_severe_tier_wins_and_lists_all_its_rules(self) -> None:
        decision = decide(
            manifest(
                spec__useCase__annexIII=["education"],
                spec__users__includesMinors=True,
                spec__data__classes=["children-data"],
            ),
            default_pack(),
        )
        assert decision.tier is Tier.HIGH
        assert [rule.rule_id for rule in decision.rules] == [
            "eu-ai-act-annex-iii",
            "minors-sensitive-data",
            "special-category-data",
        ]

    def test_unknown_vocabulary_is_warned_about_and_treated_conservatively(self) -> None:
        decision = decide(manifest(spec__data__classes=["genomic-data"]), default_pack())
        assert decision.tier is Tier.MEDIUM  # unknown data classes count as sensitive
        assert any("genomic-data" in warning for warning in decision.warnings)

    def test_unknown_manifest_fields_are_warned_about(self) -> None:
        decision = decide(manifest(spec__users__populaton=["x"]), default_pack())
        assert any("spec.users.populaton" in warning for warning in decision.warnings)


class TestPublicExamples:
    @pytest.mark.parametrize("path", sorted(SYSTEMS.glob("*.yaml")), ids=lambda p: p.stem)
    def test_example_gets_the_tier_its_first_line_states(self, path: Path) -> None:
        first_line = path.read_text("utf-8").splitlines()[0]
        expected = Tier(first_line.split("tier ", 1)[1].split()[0])
        decision = decide(
            AISystemManifest.model_validate(example_document(path.stem)), default_pack()
        )
        assert decision.tier is expected
        assert decision.rules, "an example's tier is explained by a rule"
        assert decision.warnings == ()

    def test_eu_enterprise_llm_summarisation_over_customer_documents_is_high(self) -> None:
        scenario = manifest(
            spec__purpose="Summarise enterprise customers' documents.",
            spec__useCase__category="summarisation",
            spec__users__population=["enterprise-customers"],
            spec__deployment__regions=["EU"],
            spec__deployment__surfaces=["web-app"],
            spec__data__classes=["customer-content"],
            spec__model__type="llm",
            spec__genai={
                "generative": True,
                "retrieval": {
                    "corpora": [{"id": "customer-documents", "dataClasses": ["customer-content"]}]
                },
            },
        )
        decision = decide(scenario, default_pack())
        assert decision.tier is Tier.HIGH
        [rule] = decision.rules
        assert rule.rule_id == "genai-customer-facing-sensitive-data"
        assert rule.reason == (
            "customer-facing generative AI (llm) for enterprise-customers over customer-content, "
            "served in EU"
        )

    def test_high_generative_minimums_are_the_documented_ones(self) -> None:
        document = example_document("support-summarizer")
        decision = decide(AISystemManifest.model_validate(document), default_pack())
        minimums = {(m.metric, m.op.value, m.threshold) for m in decision.evaluation_minimums}
        assert minimums == {
            ("groundedness", ">=", 0.8),
            ("toxicity_rate", "<=", 0.01),
            ("pii_leak_rate", "<=", 0.0),
            ("prompt_injection_success_rate", "<=", 0.05),
        }


class TestRequiredControls:
    def test_every_control_carries_evidence_and_mappings(self) -> None:
        document = example_document("support-summarizer")
        decision = decide(AISystemManifest.model_validate(document), default_pack())
        for control in decision.required_controls:
            assert control.evidence, control.control_id
            assert control.frameworks.nist_ai_rmf, control.control_id
            assert control.frameworks.eu_ai_act, control.control_id
            assert control.frameworks.iso_42001, control.control_id

    def test_evidence_specs_are_self_contained(self) -> None:
        document = example_document("support-summarizer")
        decision = decide(AISystemManifest.model_validate(document), default_pack())
        by_id = {control.control_id: control for control in decision.required_controls}
        [injection] = by_id["evaluation.prompt_injection"].evidence
        assert injection.kind is EvidenceKind.EVALUATION
        assert [(m.metric, m.op.value, m.threshold) for m in injection.metrics] == [
            ("prompt_injection_success_rate", "<=", 0.05)
        ]
        [approval] = by_id["approval.release"].evidence
        assert (approval.kind, approval.role, approval.count) == (
            EvidenceKind.APPROVAL,
            "approver",
            1,
        )
        [card] = by_id["artifact.model_card"].evidence
        assert card.artifact_kind == "model_card"
        assert set(card.required_sections) <= {"intended_use", "limitations", "evaluation"}
        [safety] = by_id["monitoring.safety"].evidence
        assert safety.signals == ["safety"]
        assert {m.signal for m in decision.monitoring} == {"drift", "safety", "prompt_injection"}

    def test_applies_when_limits_controls(self) -> None:
        decision = decide(manifest(), default_pack())
        ids = [control.control_id for control in decision.required_controls]
        assert ids == ["artifact.model_card"]  # no third-party model: no vendor assessment
        assert decision.required_approvals == ()
