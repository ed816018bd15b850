"""Governance KPIs over the ledger (definitions: docs/kpis.md and `figures`).

`compute_kpis` is the one entry point: the API (`GET /v1/kpis`), the Prometheus gauges
(`gauges`) and the dashboard call it. It loads the facts of the window (`facts`, three
statements) and computes every figure from them (`figures`, pure functions).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from aigov_evidence.kpis.facts import Facts, load_facts
from aigov_evidence.kpis.figures import compute
from aigov_evidence.kpis.report import KpiReport

__all__ = ["Facts", "KpiReport", "compute_kpis"]


async def compute_kpis(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    tier: str | None = None,
    team: str | None = None,
    system: str | None = None,
    now: datetime,
) -> KpiReport:
    """Every governance KPI over [start, end) for the systems in scope (tier, team, system).

    `now` is only reported (`computed_at`): every figure is as of `end`, by the ledger's clock.
    """
    facts = await load_facts(session, start=start, end=end, team=team, system=system)
    return compute(facts, tier=tier, team=team, system=system, now=now)
