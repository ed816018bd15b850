"""The dashboard's pages over published events: register, filters, system page, queues.

The three systems, and the expected values worked out by hand from their events, are in
page_scenarios (PostgreSQL runs them too).
"""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
import pytest_asyncio

from tests.unit.evidence import events as ev
from tests.unit.evidence.dashboard import page_scenarios as scenario
from tests.unit.evidence.dashboard.helpers import body_of
from tests.unit.evidence.dashboard.page_scenarios import HIGH, HOSTILE, LOW, controls
from tests.unit.evidence.harness import Harness

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def signed_in(evidence: Harness) -> dict[str, str]:
    """Publish the three systems and sign in as the reader; the session's Cookie header."""
    return await scenario.publish_and_sign_in(evidence)


class TestRegister:
    async def test_every_system_with_tier_gate_and_gaps(
        self, evidence: Harness, signed_in: dict[str, str]
    ) -> None:
        await scenario.every_system_with_tier_gate_and_gaps(evidence, signed_in)

    @pytest.mark.parametrize(("query", "expected"), scenario.FILTER_CASES)
    async def test_filters_and_search_narrow_it(
        self, evidence: Harness, signed_in: dict[str, str], query: str, expected: set[str]
    ) -> None:
        await scenario.filters_and_search_narrow_it(evidence, signed_in, query, expected)

    @pytest.mark.parametrize(
        "query",
        ["tier=extreme", "gate=maybe", "q=" + "x" * 101, "after=Not_An_Id", "unknown=1"],
    )
    async def test_bad_parameters_are_422_not_500(
        self, evidence: Harness, signed_in: dict[str, str], query: str
    ) -> None:
        response = await evidence.client.get(f"/dashboard?{query}", headers=signed_in)
        assert response.status_code == 422
        assert response.json()["detail"]

    async def test_hostile_text_is_escaped(
        self, evidence: Harness, signed_in: dict[str, str]
    ) -> None:
        html = body_of(await evidence.client.get("/dashboard", headers=signed_in))
        assert "<script>alert" not in html
        assert (
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; HR &lt;b&gt;assistant&lt;/b&gt;"
            in html
        )
        page = body_of(
            await evidence.client.get(f"/dashboard/systems/{HOSTILE}", headers=signed_in)
        )
        assert "<script>alert" not in page
        assert "&lt;script&gt;" in page
        assert "<script" not in page.replace("&lt;script", "")


class TestSystemPage:
    async def test_control_matrix_rules_and_evidence(
        self, evidence: Harness, signed_in: dict[str, str]
    ) -> None:
        await scenario.control_matrix_rules_and_evidence(evidence, signed_in)

    async def test_timeline_waivers_and_incidents(
        self, evidence: Harness, signed_in: dict[str, str]
    ) -> None:
        await scenario.timeline_waivers_and_incidents(evidence, signed_in)

    async def test_who_was_notified(self, evidence: Harness, signed_in: dict[str, str]) -> None:
        await scenario.who_was_notified(evidence, signed_in)

    async def test_another_release_and_unknown_ones(
        self, evidence: Harness, signed_in: dict[str, str]
    ) -> None:
        other = await evidence.client.get(
            f"/dashboard/systems/{HIGH}?version=9.9.9", headers=signed_in
        )
        html = body_of(other)
        assert "No event names release 9.9.9" in html
        assert set(controls(html).values()) == {"missing"}
        missing = await evidence.client.get("/dashboard/systems/no-such-system", headers=signed_in)
        assert missing.status_code == 404
        assert "no AI system &#39;no-such-system&#39;" in body_of(missing)
        bad = await evidence.client.get(
            f"/dashboard/systems/{HIGH}?version=../../x", headers=signed_in
        )
        assert bad.status_code == 422


class TestQueues:
    async def test_expiring_waivers_and_releases_waiting(
        self, evidence: Harness, signed_in: dict[str, str]
    ) -> None:
        await scenario.expiring_waivers_and_releases_waiting(evidence, signed_in)


class TestKpis:
    async def test_every_figure_is_charted_over_six_windows(
        self, evidence: Harness, signed_in: dict[str, str]
    ) -> None:
        await scenario.every_figure_is_charted_over_six_windows(evidence, signed_in)

    async def test_kpi_parameters_are_bounded(
        self, evidence: Harness, signed_in: dict[str, str]
    ) -> None:
        for query in ("period=month", "period=week&tier=&team=", "tier=high&team=support-ml"):
            response = await evidence.client.get(f"/dashboard/kpis?{query}", headers=signed_in)
            assert response.status_code == 200, query
        for query in ("period=year", "tier=extreme", "team=" + "t" * 201, "x=1"):
            response = await evidence.client.get(f"/dashboard/kpis?{query}", headers=signed_in)
            assert response.status_code == 422, query


class TestDocuments:
    async def test_the_system_page_links_the_release_documents(
        self, evidence: Harness, signed_in: dict[str, str]
    ) -> None:
        html = body_of(await evidence.client.get(f"/dashboard/systems/{HIGH}", headers=signed_in))
        base = f"/dashboard/systems/{HIGH}/releases/{ev.VERSION}/documents"
        for kind in ("system-card", "model-card", "annex-iv"):
            assert f'href="{base}/{kind}"' in html

    async def test_a_document_is_served_inline_with_its_styles_hashed(
        self, evidence: Harness, signed_in: dict[str, str]
    ) -> None:
        path = f"/dashboard/systems/{HIGH}/releases/{ev.VERSION}/documents/system-card"
        response = await evidence.client.get(path, headers=signed_in)
        html = body_of(response)
        assert response.status_code == 200
        assert HIGH in html
        assert response.headers["content-disposition"].startswith("inline;")
        csp = response.headers["content-security-policy"]
        assert csp.startswith("default-src 'none'")
        for style in re.findall(r"<style>(.*?)</style>", html, re.S):
            digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["x-frame-options"] == "DENY"

    async def test_unknown_release_or_kind(
        self, evidence: Harness, signed_in: dict[str, str]
    ) -> None:
        unknown = await evidence.client.get(
            f"/dashboard/systems/{LOW}/releases/1.0/documents/system-card", headers=signed_in
        )
        assert unknown.status_code == 404
        assert "No such release" in body_of(unknown)
        kind = await evidence.client.get(
            f"/dashboard/systems/{HIGH}/releases/{ev.VERSION}/documents/pdf", headers=signed_in
        )
        assert kind.status_code == 422
