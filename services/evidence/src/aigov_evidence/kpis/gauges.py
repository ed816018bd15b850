"""The governance KPIs as Prometheus gauges (`aigov_kpi_*`), refreshed by a background job.

The gauges show the last 30 days ending at the latest refresh (`periodic.py` runs `refresh`
every `AIGOV_EVIDENCE_KPI_REFRESH_SECONDS`). One collector in the process-wide registry, which
every app's registry re-exports (`aigov_runtime.metrics.create_registry`), serves the latest
report: a refresh swaps the report in one assignment, so a scrape never sees half of one, and
series of a tier that left the scope disappear with the next report. Ratios with an empty
denominator have no sample (not 0: nothing was measured). `tier="all"` is the figure over every
tier in scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Final

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_evidence.kpis import compute_kpis
from aigov_evidence.kpis.report import ALL, KpiReport, Ratio, RatioByTier

WINDOW: Final = timedelta(days=30)

#: Gauge name -> (help, the figure of the report it shows).
RATIO_GAUGES: Final[Mapping[str, tuple[str, str]]] = {
    "aigov_kpi_artifact_completion_ratio": (
        "Releases deployed in the last 30 days with every required artifact complete before "
        "the deployment record, as a fraction of releases deployed.",
        "artifact_completion",
    ),
    "aigov_kpi_control_coverage_ratio": (
        "Required controls satisfied or waived on each active system's current release, as a "
        "fraction of required controls.",
        "control_coverage",
    ),
    "aigov_kpi_escape_ratio": (
        "Releases with an incident after the gate allowed them / (those + releases denied "
        "in the last 30 days).",
        "escape_rate",
    ),
    "aigov_kpi_rework_ratio": (
        "Releases first allowed in the last 30 days that the gate had denied before.",
        "rework_rate",
    ),
    "aigov_kpi_monitoring_coverage_ratio": (
        "High-tier active systems whose required alert routes the monitoring router verified.",
        "monitoring_coverage",
    ),
    "aigov_kpi_control_automation_ratio": (
        "Satisfied controls whose every evidence record was machine-sent.",
        "control_automation",
    ),
    "aigov_kpi_waiver_dependency_ratio": (
        "High-tier releases allowed in the last 30 days whose last allow waived a control.",
        "waiver_dependency",
    ),
}
GAUGE_NAMES: Final = (
    *RATIO_GAUGES,
    "aigov_kpi_sla_adherence_ratio",
    "aigov_kpi_sla_pending_incidents",
    "aigov_kpi_incidents",
    "aigov_kpi_incidents_by_signal",
    "aigov_kpi_incidents_per_active_system",
    "aigov_kpi_active_systems",
    "aigov_kpi_evidence_quality_mean",
    "aigov_kpi_evidence_quality_releases",
    "aigov_kpi_cycle_time_seconds",
    "aigov_kpi_refresh_timestamp_seconds",
)
"""Every gauge this module exports (docs/kpis.md lists them)."""


def _ratios(family: GaugeMetricFamily, figure: RatioByTier | Mapping[str, Ratio]) -> None:
    items = (
        {ALL: figure.overall, **figure.by_tier}.items()
        if isinstance(figure, RatioByTier)
        else figure.items()
    )
    for tier, value in items:
        if value.rate is not None:
            family.add_metric([tier], value.rate)


def families(report: KpiReport) -> list[Metric]:
    """The gauges of one report."""
    out: list[Metric] = []
    for name, (documentation, attribute) in RATIO_GAUGES.items():
        family = GaugeMetricFamily(name, documentation, labels=["tier"])
        _ratios(family, getattr(report, attribute))
        out.append(family)
    sla = report.sla_adherence
    adherence = GaugeMetricFamily(
        "aigov_kpi_sla_adherence_ratio",
        "Incidents reported in the last 30 days that met every deadline, among those resolved "
        "or breached.",
        labels=["tier"],
    )
    _ratios(adherence, {ALL: sla.overall, **sla.by_tier})
    pending = GaugeMetricFamily(
        "aigov_kpi_sla_pending_incidents",
        "Incidents of the last 30 days still open with no deadline missed yet.",
        labels=["tier"],
    )
    for tier, figure in {ALL: sla.overall, **sla.by_tier}.items():
        pending.add_metric([tier], figure.pending)
    out += [adherence, pending]
    out += _incident_families(report)
    out += _quality_families(report)
    cycle = GaugeMetricFamily(
        "aigov_kpi_cycle_time_seconds",
        "Seconds from registration to the first allowing gate decision, for systems first "
        "allowed in the last 30 days (quantile 0.5: median, 0.9: nearest rank).",
        labels=["tier", "quantile"],
    )
    for tier, durations in {ALL: report.cycle_time.overall, **report.cycle_time.by_tier}.items():
        for quantile, value in (("0.5", durations.median_seconds), ("0.9", durations.p90_seconds)):
            if value is not None:
                cycle.add_metric([tier, quantile], value)
    refreshed = GaugeMetricFamily(
        "aigov_kpi_refresh_timestamp_seconds",
        "When the KPI gauges were last computed (Unix time).",
        value=report.computed_at.timestamp(),
    )
    return [*out, cycle, refreshed]


def _incident_families(report: KpiReport) -> list[Metric]:
    by_severity = GaugeMetricFamily(
        "aigov_kpi_incidents",
        "Incidents reported in the last 30 days, by tier and severity.",
        labels=["tier", "severity"],
    )
    by_signal = GaugeMetricFamily(
        "aigov_kpi_incidents_by_signal",
        "Incidents reported in the last 30 days, by tier and category (the signal).",
        labels=["tier", "signal"],
    )
    per_system = GaugeMetricFamily(
        "aigov_kpi_incidents_per_active_system",
        "Incidents reported in the last 30 days per active system.",
        labels=["tier"],
    )
    active = GaugeMetricFamily(
        "aigov_kpi_active_systems",
        "Systems registered and not retired.",
        labels=["tier"],
    )
    for tier, counts in {ALL: report.incidents.overall, **report.incidents.by_tier}.items():
        for severity, count in counts.by_severity.items():
            by_severity.add_metric([tier, severity], count)
        for signal, count in counts.by_category.items():
            by_signal.add_metric([tier, signal], count)
        if counts.per_active_system is not None:
            per_system.add_metric([tier], counts.per_active_system)
        active.add_metric([tier], counts.active_systems)
    return [by_severity, by_signal, per_system, active]


def _quality_families(report: KpiReport) -> list[Metric]:
    quality = report.evidence_quality
    mean = GaugeMetricFamily(
        "aigov_kpi_evidence_quality_mean",
        "Mean evidence quality score (1-5) of releases decided by the gate in the last 30 days.",
        labels=["tier"],
    )
    releases = GaugeMetricFamily(
        "aigov_kpi_evidence_quality_releases",
        "Releases decided by the gate in the last 30 days, by evidence quality score.",
        labels=["tier", "score"],
    )
    for tier, distribution in {ALL: quality.overall, **quality.by_tier}.items():
        if distribution.mean is not None:
            mean.add_metric([tier], distribution.mean)
        for score, count in distribution.scores.items():
            releases.add_metric([tier, score], count)
    return [mean, releases]


class KpiCollector:
    """Serves the latest KPI report as gauges (nothing until the first refresh)."""

    def __init__(self) -> None:
        self.report: KpiReport | None = None

    def collect(self) -> Iterable[Metric]:
        """The gauges of the latest report."""
        report = self.report  # one read: a refresh may swap it meanwhile
        return families(report) if report is not None else []

    async def refresh(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime | None = None
    ) -> KpiReport:
        """Compute the last 30 days' report and serve it."""
        now = datetime.now(UTC) if now is None else now
        async with sessionmaker() as session:
            report = await compute_kpis(session, start=now - WINDOW, end=now, now=now)
        self.report = report
        return report


COLLECTOR: Final = KpiCollector()
REGISTRY.register(COLLECTOR)
