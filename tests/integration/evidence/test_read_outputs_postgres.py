"""What people read, on the real Kafka broker and PostgreSQL: the KPIs, the documents, the OSCAL
exports and the dashboard's pages give the same answers as on the embedded service.

Each is a scenario of the unit tests (one story, one set of expected values), run here against
PostgreSQL because their queries (window functions, JSON reads, date arithmetic) are where the
two databases differ.
"""

from __future__ import annotations

import pytest

from tests.unit.evidence import document_scenarios, kpi_scenarios, oscal_scenarios
from tests.unit.evidence.dashboard import page_scenarios
from tests.unit.evidence.harness import Harness

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]


class TestKpis:
    async def test_the_figures_of_one_release(self, evidence: Harness) -> None:
        await kpi_scenarios.the_figures_of_one_release(evidence)

    async def test_filters_and_window(self, evidence: Harness) -> None:
        await kpi_scenarios.filters_and_window(evidence)


class TestDocuments:
    async def test_system_card_states_exactly_the_recorded_facts(self, evidence: Harness) -> None:
        await document_scenarios.system_card_states_exactly_the_recorded_facts(evidence)

    async def test_annex_iv_names_the_control_that_would_supply_missing_evidence(
        self, evidence: Harness
    ) -> None:
        await document_scenarios.annex_iv_names_the_control_that_would_supply_missing_evidence(
            evidence
        )


class TestOscal:
    async def test_assessment_results_say_satisfied_missing_and_waived(
        self, evidence: Harness
    ) -> None:
        await oscal_scenarios.assessment_results_say_satisfied_missing_and_waived(evidence)

    async def test_poam_lists_the_waivers(self, evidence: Harness) -> None:
        await oscal_scenarios.poam_lists_the_waivers(evidence)

    async def test_an_expired_waiver_is_expired_and_no_longer_waives(
        self, evidence: Harness
    ) -> None:
        await oscal_scenarios.an_expired_waiver_is_expired_and_no_longer_waives(evidence)


async def test_dashboard_pages(evidence: Harness) -> None:
    """The register, its filters, the system page, the queues and the KPI page, in one story."""
    signed_in = await page_scenarios.publish_and_sign_in(evidence)
    await page_scenarios.every_system_with_tier_gate_and_gaps(evidence, signed_in)
    for query, expected in page_scenarios.FILTER_CASES:
        await page_scenarios.filters_and_search_narrow_it(evidence, signed_in, query, expected)
    await page_scenarios.control_matrix_rules_and_evidence(evidence, signed_in)
    await page_scenarios.timeline_waivers_and_incidents(evidence, signed_in)
    await page_scenarios.who_was_notified(evidence, signed_in)
    await page_scenarios.expiring_waivers_and_releases_waiting(evidence, signed_in)
    await page_scenarios.every_figure_is_charted_over_six_windows(evidence, signed_in)
