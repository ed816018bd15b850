"""Generated documents of a release: system card, model card, Annex IV, escaping, errors.

The release and its hand-typed values are in document_scenarios (PostgreSQL runs them too), so
every expected fact below is one of them, never computed by the code under test.
"""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from aigov_evidence.documents import (
    DocumentFormat,
    DocumentKind,
    NotApplicable,
    ReleaseNotFound,
    render_document,
)
from aigov_evidence.documents.annex_iv import annex_iv
from aigov_evidence.documents.cards import system_card
from aigov_evidence.documents.document import Gap, Text
from aigov_evidence.documents.dossier import load_dossier
from tests.unit.evidence import document_scenarios as scenario
from tests.unit.evidence.document_scenarios import (
    DOCUMENTS_PATH,
    LOW,
    MANIFEST,
    NOW,
    SYSTEM,
    VERSION,
    artifact,
    by_key,
    dossier_of,
    evaluation,
    facts,
    registered,
    seed,
    tables,
)
from tests.unit.evidence.harness import OWNER, PUBLISHER, READER, Harness, auth

pytestmark = pytest.mark.asyncio


class TestSystemCard:
    async def test_it_states_exactly_the_recorded_facts(self, evidence: Harness) -> None:
        await scenario.system_card_states_exactly_the_recorded_facts(evidence)

    async def test_metrics_are_measured_against_the_tiers_minimums(self, evidence: Harness) -> None:
        seeded = await seed(evidence)
        dossier = await dossier_of(evidence)
        [run] = dossier.evaluations
        assert run.event_id == seeded.evaluation.id
        evaluation_section = by_key(system_card(dossier))["evaluation"]
        table = tables(evaluation_section)[
            "Metrics against the minimums of the tier decision (latest measurement)"
        ]
        assert [row[:4] for row in table.rows] == [
            ("groundedness", "0.91", ">= 0.8", "meets"),
            ("prompt_injection_success_rate", "0.07", "<= 0.05", "FAILS"),
            ("toxicity_rate", "not measured", "<= 0.01", "not measured"),
        ]
        assert table.rows[0][4] == f"claims-eval run run-4471 ({run.event_id})"
        # toxicity has a minimum but no control checks it: the gap says so, naming none.
        assert evaluation_section.gaps == (
            Gap(
                missing="not recorded: no evaluation of release 2026.11.3 measured toxicity_rate",
                note="the tier's evaluation minimums list it, but no required control checks it",
            ),
        )

    async def test_limits_oversight_and_monitoring_come_from_evidence(
        self, evidence: Harness
    ) -> None:
        await scenario.limits_oversight_and_monitoring_come_from_evidence(evidence)


class TestModelCard:
    async def test_model_card_sections_and_their_gaps(self, evidence: Harness) -> None:
        await scenario.model_card_sections_and_their_gaps(evidence)


class TestAnnexIv:
    async def test_sections_without_evidence_name_the_control_that_would_supply_it(
        self, evidence: Harness
    ) -> None:
        await scenario.annex_iv_names_the_control_that_would_supply_missing_evidence(evidence)

    async def test_an_artifact_fills_its_section_and_a_missing_section_is_a_gap(
        self, evidence: Harness
    ) -> None:
        await seed(evidence)
        risk = artifact(
            "risk_assessment",
            {
                "risks": "Wrong amounts in drafts.",
                "mitigations": "Adjuster edits every draft.",
                "residual_risk": "Low.",
            },
        )
        declaration = artifact("conformity_declaration", {"standards": "ISO/IEC 42001:2023"})
        await evidence.publish(risk, declaration)
        sections = by_key(annex_iv(await dossier_of(evidence)))
        risk_management = sections["annex-iv-5"]
        assert facts(risk_management)["Risks"] == "Wrong amounts in drafts."
        assert facts(risk_management)["Mitigations"] == "Adjuster edits every draft."
        assert facts(risk_management)["Residual risk"] == "Low."
        assert risk_management.gaps == ()
        assert facts(sections["annex-iv-7"])["Standards applied (declaration)"] == (
            "ISO/IEC 42001:2023"
        )
        assert sections["annex-iv-7"].gaps == ()
        conformity = ("artifact.conformity_declaration (EU declaration of conformity)",)
        assert sections["annex-iv-8"].gaps == (
            Gap(
                f"not recorded: conformity_declaration artifact {declaration.id} has no section "
                "declaration",
                conformity,
            ),
            Gap(
                f"not recorded: conformity_declaration artifact {declaration.id} has no section "
                "assessment",
                conformity,
            ),
        )

    async def test_a_system_without_a_tier_decision_has_cards_but_no_annex_iv(
        self, evidence: Harness
    ) -> None:
        untiered = "claims-untiered"
        await evidence.publish(
            registered({**MANIFEST, "metadata": {**MANIFEST["metadata"], "id": untiered}}),
            evaluation(untiered),
        )
        dossier = await dossier_of(evidence, untiered)
        assert by_key(system_card(dossier))["tier"].items == (
            Text("The system has no tier decision yet."),
        )
        with pytest.raises(NotApplicable, match="has no tier decision yet"):
            annex_iv(dossier)

    async def test_a_low_tier_system_is_not_applicable(self, evidence: Harness) -> None:
        await seed(evidence)
        with pytest.raises(NotApplicable, match="low tier"):
            annex_iv(await dossier_of(evidence, LOW))


class TestEscaping:
    async def test_hostile_text_is_inert_in_markdown_and_html(self, evidence: Harness) -> None:
        await seed(evidence)
        async with evidence.sessionmaker() as session:
            markdown = await render_document(
                session, SYSTEM, VERSION, DocumentKind.SYSTEM_CARD, DocumentFormat.MARKDOWN, now=NOW
            )
            html = await render_document(
                session, SYSTEM, VERSION, DocumentKind.SYSTEM_CARD, DocumentFormat.HTML, now=NOW
            )
        assert "<script>" not in markdown.body
        # No link can form: every `]` of the hostile text is escaped.
        assert re.search(r"(?<!\\)\]\(", markdown.body) is None
        assert (
            r"Adjuster signs off \<script\>alert('x')\</script\> then "
            r"\[click\](javascript:alert(1)) \| x"
        ) in markdown.body
        # Rendered by a CommonMark renderer that passes raw HTML through (as many do):
        # the hostile text stays text.
        shown = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown.body)
        assert "<script>" not in shown
        assert "href=" not in shown
        assert "&lt;script&gt;alert('x')&lt;/script&gt; then [click](javascript:alert(1)) | x" in (
            shown
        )
        assert "<script>" not in html.body
        assert (
            "Adjuster signs off &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; then "
            "[click](javascript:alert(1)) | x"
        ) in html.body
        assert 'href="javascript' not in html.body

    async def test_html_is_self_contained(self, evidence: Harness) -> None:
        await seed(evidence)
        async with evidence.sessionmaker() as session:
            html = await render_document(
                session, SYSTEM, VERSION, DocumentKind.ANNEX_IV, DocumentFormat.HTML, now=NOW
            )
        assert html.media_type == "text/html; charset=utf-8"
        assert html.filename == f"{SYSTEM}-{VERSION}-annex-iv.html"
        assert "<style>" in html.body
        assert "@media print" in html.body
        for external in ("<link", "<script", "src=", "http://", "@import"):
            assert external not in html.body


class TestApi:
    PATH = DOCUMENTS_PATH

    async def test_markdown_by_default_and_html_on_request(self, evidence: Harness) -> None:
        await scenario.markdown_by_default_and_html_on_request(evidence)

    async def test_annex_iv_of_a_low_tier_system_is_409(self, evidence: Harness) -> None:
        await seed(evidence)
        response = await evidence.client.get(
            f"/v1/systems/{LOW}/releases/{VERSION}/documents/annex-iv", headers=auth(READER)
        )
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == (
            f"{LOW} is low tier under policy default 2026.11.0, not high: Annex IV (Art. 11) "
            "applies to high-risk systems only"
        )
        # The cards apply to every tier.
        card = await evidence.client.get(
            f"/v1/systems/{LOW}/releases/{VERSION}/documents/system-card", headers=auth(READER)
        )
        assert card.status_code == 200

    async def test_unknown_system_or_release_is_404(self, evidence: Harness) -> None:
        await seed(evidence)
        unknown_release = await evidence.client.get(
            f"/v1/systems/{SYSTEM}/releases/9.9.9/documents/system-card", headers=auth(READER)
        )
        assert unknown_release.status_code == 404
        assert unknown_release.json()["detail"] == f"no event names release '9.9.9' of '{SYSTEM}'"
        unknown_system = await evidence.client.get(
            f"/v1/systems/nobody/releases/{VERSION}/documents/annex-iv", headers=auth(READER)
        )
        assert unknown_system.status_code == 404
        assert unknown_system.json()["detail"] == "no AI system 'nobody' in the inventory"
        async with evidence.sessionmaker() as session:
            with pytest.raises(ReleaseNotFound):
                await load_dossier(session, "nobody", VERSION, now=NOW)

    async def test_it_needs_a_reader_token(self, evidence: Harness) -> None:
        path = f"{self.PATH}/system-card"
        assert (await evidence.client.get(path)).status_code == 401
        assert (await evidence.client.get(path, headers=auth(OWNER))).status_code == 403
        assert (await evidence.client.get(path, headers=auth(PUBLISHER))).status_code == 403

    @pytest.mark.parametrize(
        ("path", "field"),
        [
            (f"{PATH}/pdf", "path.kind"),
            (f"{PATH}/system-card?format=pdf", "query.format"),
            (f"{PATH}/system-card?style=x", "style"),
            (f"/v1/systems/Bad_Id/releases/{VERSION}/documents/system-card", "path.system_id"),
        ],
    )
    async def test_bad_input_is_422(self, evidence: Harness, path: str, field: str) -> None:
        response = await evidence.client.get(path, headers=auth(READER))
        assert response.status_code == 422
        assert field in response.text

    async def test_openapi_documents_both_media_types(self, evidence: Harness) -> None:
        spec = (await evidence.client.get("/openapi.json")).json()
        operation = spec["paths"]["/v1/systems/{system_id}/releases/{version}/documents/{kind}"][
            "get"
        ]
        assert set(operation["responses"]["200"]["content"]) == {
            "text/markdown; charset=utf-8",
            "text/html; charset=utf-8",
        }
        assert {"401", "403", "404", "409", "422"} <= set(operation["responses"])
        assert operation["tags"] == ["releases"]
