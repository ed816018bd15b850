"""A release's generated documents, run on the embedded service (unit tests) and on Kafka +
PostgreSQL (integration tests): system card, model card, Annex IV, through the dossier and HTTP.

The release is built by hand (manifest, tier decision, evaluation, artifact, approval, waiver,
probe) with values typed here, so every expected fact below is one of them, never computed
by the code under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aigov_events.catalog import (
    ArtifactSubmitted,
    EvaluationCompleted,
    SystemRegistered,
    TierAssigned,
)
from aigov_events.catalog.manifest import AISystemManifest
from aigov_events.message import DomainEvent, new_event
from aigov_evidence.documents.annex_iv import annex_iv
from aigov_evidence.documents.cards import model_card, system_card
from aigov_evidence.documents.document import Document, Fact, Gap, Section, Table
from aigov_evidence.documents.dossier import Dossier, load_dossier
from tests.unit.evidence import events as ev
from tests.unit.evidence.harness import READER, Harness, auth

SYSTEM = "claims-drafter"
LOW = "claims-faq-bot"
VERSION = ev.VERSION  # the waiver and approval helpers name this release
HOSTILE = "Adjuster signs off <script>alert('x')</script> then [click](javascript:alert(1)) | x"
#: After NOW (below), so the cards show the waiver as granted, not expired.
WAIVER_EXPIRES = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)

MANIFEST: dict[str, Any] = {
    "apiVersion": "aigov.io/v1",
    "kind": "AISystem",
    "metadata": {
        "id": SYSTEM,
        "name": "Claims letter drafter",
        "owner": "ines.moreau@example.com",
        "team": "claims-ml",
        "oncall": "claims-ml-oncall",
    },
    "spec": {
        "purpose": "Draft replies to insurance claim letters for adjusters to edit.",
        "useCase": {
            "category": "insurance-claims",
            "annexIII": ["essential-services"],
            "prohibitedPractices": [],
        },
        "users": {"population": ["claims-adjusters"], "includesMinors": False, "public": False},
        "deployment": {
            "surfaces": ["internal-tool"],
            "environments": ["production"],
            "regions": ["EU"],
        },
        "data": {"classes": ["personal-data", "financial-data"], "trainingSources": []},
        "model": {
            "type": "llm",
            "architecture": "hosted foundation model with retrieval",
            "thirdParty": [
                {"vendor": "Mistral AI", "model": "mistral-large-2411", "license": "commercial"}
            ],
        },
        "genai": {"generative": True, "safetyFilters": {"policy": "claims-filter-v1"}},
        "agent": {"autonomous": False, "tools": []},
        "humanOversight": HOSTILE,
    },
}


def _control(
    control_id: str, title: str, articles: list[str], evidence: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "control_id": control_id,
        "title": title,
        "frameworks": {"eu_ai_act": articles},
        "evidence": evidence,
    }


def _artifact_spec(kind: str, *sections: str) -> list[dict[str, Any]]:
    return [{"kind": "artifact", "artifact_kind": kind, "required_sections": list(sections)}]


def decision(system_id: str, tier: str) -> DomainEvent[TierAssigned]:
    """The tier decision, typed by hand: what it requires is what the gaps must name."""
    payload = TierAssigned.model_validate(
        {
            "system_id": system_id,
            "tier": tier,
            "rules": [
                {
                    "rule_id": "genai-financial-data",
                    "reason": "generative model over financial-data",
                }
            ],
            "policy": ev.POLICY,
            "manifest_revision": 1,
            "manifest_sha256": "c" * 64,
            "required_controls": [
                _control(
                    "artifact.model_card",
                    "Model card published for the release",
                    ["11", "13"],
                    _artifact_spec("model_card", "intended_use", "limitations", "evaluation"),
                ),
                _control(
                    "artifact.risk_assessment",
                    "Risk assessment with treatment plan",
                    ["9"],
                    _artifact_spec("risk_assessment", "risks", "mitigations", "residual_risk"),
                ),
                _control(
                    "artifact.monitoring_plan",
                    "Post-market monitoring plan",
                    ["72"],
                    _artifact_spec("monitoring_plan", "signals", "thresholds", "escalation"),
                ),
                _control(
                    "artifact.conformity_declaration",
                    "EU declaration of conformity",
                    ["43", "47"],
                    _artifact_spec("conformity_declaration", "standards", "declaration"),
                ),
                _control(
                    "evaluation.groundedness",
                    "Outputs grounded in their sources",
                    ["15"],
                    [
                        {
                            "kind": "evaluation",
                            "metrics": [{"metric": "groundedness", "op": ">=", "threshold": 0.8}],
                        }
                    ],
                ),
                _control(
                    "evaluation.prompt_injection",
                    "Resistance to prompt injection",
                    ["15"],
                    [
                        {
                            "kind": "evaluation",
                            "metrics": [
                                {
                                    "metric": "prompt_injection_success_rate",
                                    "op": "<=",
                                    "threshold": 0.05,
                                }
                            ],
                        }
                    ],
                ),
                _control(
                    "approval.release",
                    "Release approved by accountable approvers",
                    ["14", "17"],
                    [{"kind": "approval", "role": "approver", "count": 1}],
                ),
                _control(
                    "monitoring.drift",
                    "Drift monitored in production",
                    ["72"],
                    [{"kind": "monitoring", "signals": ["drift"]}],
                ),
            ],
            "evaluation_minimums": [
                {"metric": "groundedness", "op": ">=", "threshold": 0.8},
                {"metric": "prompt_injection_success_rate", "op": "<=", "threshold": 0.05},
                {"metric": "toxicity_rate", "op": "<=", "threshold": 0.01},
            ],
            "required_approvals": [{"role": "approver", "count": 1}],
            "monitoring": [{"signal": "drift"}],
            "incident_slas": [
                {
                    "severity": "high",
                    "acknowledge_within_minutes": 30,
                    "resolve_within_minutes": 240,
                }
            ],
        }
    )
    return new_event(payload, source="/aigov/tiering", actor="aigov-tiering")


def registered(manifest: dict[str, Any]) -> DomainEvent[SystemRegistered]:
    parsed = AISystemManifest.model_validate(manifest)
    payload = SystemRegistered(
        system_id=parsed.metadata.id,
        revision=1,
        manifest_sha256=parsed.content_sha256(),
        manifest=parsed,
    )
    return new_event(payload, source=ev.SOURCE, actor=ev.OWNER)


def evaluation(system_id: str) -> DomainEvent[EvaluationCompleted]:
    payload = EvaluationCompleted.model_validate(
        {
            "system_id": system_id,
            "version": VERSION,
            "suite": "claims-eval",
            "metrics": [
                {"name": "groundedness", "value": 0.91, "higher_is_better": True},
                {"name": "prompt_injection_success_rate", "value": 0.07, "higher_is_better": False},
            ],
            "datasets": [{"id": "claims-eval-set", "version": "3"}],
            "run": {"id": "run-4471", "commit": "abc1234"},
        }
    )
    return new_event(payload, source=ev.SOURCE, actor=ev.SUBMITTER)


def model_card_artifact() -> DomainEvent[ArtifactSubmitted]:
    payload = ArtifactSubmitted(
        system_id=SYSTEM,
        version=VERSION,
        kind="model_card",
        title="Claims drafter model card",
        uri="https://docs.example.com/claims/model-card",
        sha256="d" * 64,
        sections={
            "intended_use": "Drafts for adjusters; never sent unreviewed.",
            "limitations": "Struggles with handwritten scans.",
            "evaluation": "See run-4471.",
            "caveats": "Tested on EU claims only.",
        },
    )
    return new_event(payload, source=ev.SOURCE, actor=ev.SUBMITTER)


def artifact(kind: str, sections: dict[str, str]) -> DomainEvent[ArtifactSubmitted]:
    payload = ArtifactSubmitted(
        system_id=SYSTEM,
        version=VERSION,
        kind=kind,
        title=f"Claims drafter {kind}",
        uri=f"https://docs.example.com/claims/{kind}",
        sha256="e" * 64,
        sections=sections,
    )
    return new_event(payload, source=ev.SOURCE, actor=ev.SUBMITTER)


@dataclass(frozen=True)
class Seeded:
    """The events whose ids the documents cite."""

    evaluation: DomainEvent[EvaluationCompleted]
    artifact: DomainEvent[ArtifactSubmitted]


async def seed(evidence: Harness) -> Seeded:
    seeded = Seeded(evaluation(SYSTEM), model_card_artifact())
    await evidence.publish(
        registered(MANIFEST),
        decision(SYSTEM, "high"),
        seeded.evaluation,
        seeded.artifact,
        ev.waiver_requested(
            SYSTEM,
            {
                "version": VERSION,
                "controls": ["evaluation.prompt_injection"],
                "justification": "Filter upgrade ships next sprint.",
                "compensating_controls": ["manual review of every draft"],
            },
            waiver_id="W-31",
            expires_at=WAIVER_EXPIRES,
        ),
        ev.waiver_granted(SYSTEM, waiver_id="W-31"),
        ev.approval(SYSTEM, rationale="Groundedness meets the minimum; injection under W-31."),
        ev.probe(SYSTEM, name="drift-alert-route"),
        registered({**MANIFEST, "metadata": {**MANIFEST["metadata"], "id": LOW}}),
        decision(LOW, "low"),
        evaluation(LOW),
    )
    return seeded


NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
DOCUMENTS_PATH = f"/v1/systems/{SYSTEM}/releases/{VERSION}/documents"


async def dossier_of(evidence: Harness, system_id: str = SYSTEM) -> Dossier:
    async with evidence.sessionmaker() as session:
        return await load_dossier(session, system_id, VERSION, now=NOW)


def by_key(document: Document) -> dict[str, Section]:
    return {s.key: s for s in document.sections}


def facts(section: Section) -> dict[str, str]:
    return {i.label: i.value for i in section.items if isinstance(i, Fact)}


def tables(section: Section) -> dict[str | None, Table]:
    return {i.caption: i for i in section.items if isinstance(i, Table)}


async def system_card_states_exactly_the_recorded_facts(evidence: Harness) -> None:
    """The system card's facts are the manifest's, the decision's and the model card's."""
    seeded = await seed(evidence)
    card = by_key(system_card(await dossier_of(evidence)))
    assert facts(card["intended-use"]) == {
        "Intended purpose (manifest)": "Draft replies to insurance claim letters for "
        "adjusters to edit.",
        "Use case category": "insurance-claims",
        "EU AI Act Annex III areas": "essential-services",
        "EU AI Act Art. 5 practices declared": "none",
        "Intended use (model card)": "Drafts for adjusters; never sent unreviewed.",
        "Source (model_card)": "Claims drafter model card, "
        "https://docs.example.com/claims/model-card (sha256 " + "d" * 64 + "; event "
        f"{seeded.artifact.id}, submitted by ci-bot at "
        f"{seeded.artifact.time.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC)",
    }
    assert facts(card["users"]) == {
        "User population": "claims-adjusters",
        "Includes minors": "no",
        "Available to the general public": "no",
        "Deployment surfaces": "internal-tool",
        "Environments": "production",
        "Regions": "EU",
    }
    assert facts(card["data"])["Data classes"] == "personal-data, financial-data"
    assert facts(card["data"])["Training sources"] == "none"
    models = tables(card["models"])["Third-party models"]
    assert models.rows == (("Mistral AI", "mistral-large-2411", "commercial"),)
    assert facts(card["models"])["Safety filter policy"] == "claims-filter-v1"
    assert facts(card["tier"])["Tier"] == "high"
    assert tables(card["tier"])["Rules that fired"].rows == (
        ("genai-financial-data", "generative model over financial-data"),
    )
    assert facts(card["oversight"])["Human oversight (manifest)"] == HOSTILE


async def limits_oversight_and_monitoring_come_from_evidence(evidence: Harness) -> None:
    """Limits, oversight and monitoring sections quote the waivers, approvals and probes."""
    await seed(evidence)
    card = by_key(system_card(await dossier_of(evidence)))
    limits = card["limits"]
    assert facts(limits)["Limitations (model card)"] == "Struggles with handwritten scans."
    [waivers] = [t for t in tables(limits).values() if t.caption == "Waivers of the release"]
    assert waivers.rows == (
        (
            "W-31",
            "evaluation.prompt_injection",
            "granted",
            "Filter upgrade ships next sprint.",
            "manual review of every draft",
            "2031-03-04 05:06:07 UTC",
            "requested by ci-bot; decided by risk-officer: Compensating controls are "
            "adequate for 30 days.",
        ),
    )
    unmet = tables(limits)["Required controls not met by evidence"]
    assert {row[0]: row[1] for row in unmet.rows} == {
        "artifact.risk_assessment": "missing",
        "artifact.monitoring_plan": "missing",
        "artifact.conformity_declaration": "missing",
        "evaluation.prompt_injection": "waived by W-31",
    }
    approvals = tables(card["oversight"])["Approval decisions on the release"]
    assert [row[:4] for row in approvals.rows] == [
        (
            "granted",
            "risk-officer",
            "approver",
            "Groundedness meets the minimum; injection under W-31.",
        )
    ]
    monitoring = card["monitoring"]
    assert facts(monitoring)["On-call"] == "claims-ml-oncall"
    assert facts(monitoring)["Signals the tier requires monitoring for"] == "drift"
    assert tables(monitoring)["Incident SLAs of the tier"].rows == (("high", "30 min", "240 min"),)
    probes = tables(monitoring)["Latest result of each monitoring probe (monitoring router)"]
    assert [row[:2] for row in probes.rows] == [("drift-alert-route", "ok")]


async def model_card_sections_and_their_gaps(evidence: Harness) -> None:
    """The model card shows the artifact's sections and names each missing one."""
    seeded = await seed(evidence)
    card = by_key(model_card(await dossier_of(evidence)))
    assert facts(card["intended-use"])["Intended use (model card)"] == (
        "Drafts for adjusters; never sent unreviewed."
    )
    assert facts(card["evaluation"])["Evaluation (model card)"] == "See run-4471."
    # A model card section no other part shows is shown as it is.
    assert facts(card["more"]) == {"Caveats": "Tested on EU claims only."}
    artifact_id = seeded.artifact.id
    model_card_control = ("artifact.model_card (Model card published for the release)",)
    assert card["ethics"].gaps == (
        Gap(
            f"not recorded: model_card artifact {artifact_id} has no section "
            "ethical_considerations",
            model_card_control,
        ),
    )
    assert card["training-data"].gaps == (
        Gap(
            f"not recorded: model_card artifact {artifact_id} has no section training_data",
            model_card_control,
        ),
    )
    assert facts(card["model"])["Architecture"] == "hosted foundation model with retrieval"


async def annex_iv_names_the_control_that_would_supply_missing_evidence(evidence: Harness) -> None:
    """Annex IV sections without evidence name the control that would supply it."""
    await seed(evidence)
    document = annex_iv(await dossier_of(evidence))
    sections = by_key(document)
    assert [s.key for s in document.sections] == [f"annex-iv-{n}" for n in range(1, 10)]
    release = "for release 2026.11.3"
    assert sections["annex-iv-5"].gaps == (
        Gap(
            f"not recorded: no artifact of kind risk_assessment {release}",
            ("artifact.risk_assessment (Risk assessment with treatment plan)",),
        ),
    )
    conformity = ("artifact.conformity_declaration (EU declaration of conformity)",)
    assert sections["annex-iv-8"].gaps == (
        Gap(f"not recorded: no artifact of kind conformity_declaration {release}", conformity),
    )
    assert sections["annex-iv-7"].gaps == sections["annex-iv-8"].gaps
    assert (
        Gap(
            f"not recorded: no artifact of kind monitoring_plan {release}",
            ("artifact.monitoring_plan (Post-market monitoring plan)",),
        )
        in sections["annex-iv-9"].gaps
    )
    # No control asks for technical documentation by kind: matched by Art. 15 instead.
    assert (
        Gap(
            f"not recorded: no artifact of kind technical_documentation {release}",
            (
                "evaluation.groundedness (Outputs grounded in their sources)",
                "evaluation.prompt_injection (Resistance to prompt injection)",
            ),
        )
        in sections["annex-iv-4"].gaps
    )
    # Changes through the lifecycle are all recorded: the manifest revision, the decision.
    assert sections["annex-iv-6"].gaps == ()
    revisions = tables(sections["annex-iv-6"])["Manifest revisions"]
    assert [row[0] for row in revisions.rows] == ["1"]
    assert sections["annex-iv-6"].filled
    assert sections["annex-iv-3"].filled


async def markdown_by_default_and_html_on_request(evidence: Harness) -> None:
    """The three documents over HTTP: Markdown by default, HTML on request."""
    await seed(evidence)
    markdown = await evidence.client.get(f"{DOCUMENTS_PATH}/system-card", headers=auth(READER))
    assert markdown.status_code == 200, markdown.text
    assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
    assert markdown.headers["content-disposition"] == (
        f'inline; filename="{SYSTEM}-{VERSION}-system-card.md"'
    )
    assert markdown.text.startswith("# System card: Claims letter drafter 2026.11.3\n")
    html = await evidence.client.get(
        f"{DOCUMENTS_PATH}/model-card", params={"format": "html"}, headers=auth(READER)
    )
    assert html.status_code == 200
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Model card: Claims letter drafter 2026.11.3</h1>" in html.text
    annex = await evidence.client.get(f"{DOCUMENTS_PATH}/annex-iv", headers=auth(READER))
    assert annex.status_code == 200
    assert "## 5. Risk management system (Art. 9)" in annex.text
