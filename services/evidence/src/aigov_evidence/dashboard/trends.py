"""The KPI page's data: `compute_kpis` over consecutive windows, as series to chart.

Figures and their definitions belong to `aigov_evidence.kpis` (docs/kpis.md); this module
only asks for one report per window and picks the overall value of each figure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_evidence.dashboard.svg import Point, trend
from aigov_evidence.kpis import KpiReport, compute_kpis
from aigov_evidence.kpis.report import Ratio

WINDOWS: Final = 6
PERIODS: Final = {"week": timedelta(days=7), "month": timedelta(days=30)}
Unit = Literal["rate", "count", "score", "days"]


@dataclass(frozen=True, slots=True)
class Series:
    """One figure over the windows: its chart, latest value and what that value counts."""

    key: str
    title: str
    definition: str
    chart: Markup
    latest: str
    detail: str
    values: list[tuple[str, str]]


def _ratio(pick: Callable[[KpiReport], Ratio]) -> Callable[[KpiReport], tuple[float | None, str]]:
    def value(report: KpiReport) -> tuple[float | None, str]:
        ratio = pick(report)
        return ratio.rate, f"{ratio.numerator} of {ratio.denominator}"

    return value


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _incidents(report: KpiReport) -> tuple[float | None, str]:
    counts = report.incidents.overall
    return float(counts.incidents), f"over {_many(counts.active_systems, 'active system')}"


def _quality(report: KpiReport) -> tuple[float | None, str]:
    quality = report.evidence_quality.overall
    return quality.mean, f"{_many(quality.releases, 'release')} scored"


def _cycle(report: KpiReport) -> tuple[float | None, str]:
    cycle = report.cycle_time.overall
    median = cycle.median_seconds / 86_400 if cycle.median_seconds is not None else None
    return median, f"{_many(cycle.systems, 'system')} first allowed"


#: (key, title, unit, chart kind, value of a report, which KpiReport field defines it)
FIGURES: Final[
    tuple[
        tuple[
            str,
            str,
            Unit,
            Literal["line", "bars"],
            Callable[[KpiReport], tuple[float | None, str]],
            str,
        ],
        ...,
    ]
] = (
    ("control_coverage", "Control coverage", "rate", "line",
     _ratio(lambda r: r.control_coverage.overall), "control_coverage"),
    ("artifact_completion", "Artifact completion", "rate", "line",
     _ratio(lambda r: r.artifact_completion.overall), "artifact_completion"),
    ("incidents", "AI incidents reported", "count", "bars", _incidents, "incidents"),
    ("escape_rate", "Escape rate", "rate", "line",
     _ratio(lambda r: r.escape_rate.overall), "escape_rate"),
    ("evidence_quality", "Evidence quality (mean score, 1-5)", "score", "line", _quality,
     "evidence_quality"),
    ("cycle_time", "Governance cycle time (median days)", "days", "bars", _cycle, "cycle_time"),
    ("rework_rate", "Rework rate", "rate", "line",
     _ratio(lambda r: r.rework_rate.overall), "rework_rate"),
    ("monitoring_coverage", "Monitoring coverage (high tier)", "rate", "line",
     _ratio(lambda r: r.monitoring_coverage.overall), "monitoring_coverage"),
    ("sla_adherence", "Escalation SLA adherence", "rate", "line",
     _ratio(lambda r: r.sla_adherence.overall), "sla_adherence"),
    ("control_automation", "Control automation", "rate", "line",
     _ratio(lambda r: r.control_automation.overall), "control_automation"),
    ("waiver_dependency", "Waiver dependency (high tier)", "rate", "line",
     _ratio(lambda r: r.waiver_dependency.overall), "waiver_dependency"),
)  # fmt: skip


def _shown(value: float | None, unit: Unit) -> str:
    if value is None:
        return "n/a"
    if unit == "rate":
        return f"{value * 100:.0f}%"
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:.1f}"


def windows(now: datetime, period: str) -> list[tuple[datetime, datetime]]:
    """WINDOWS consecutive windows of `period`, oldest first, the last one ending now."""
    length = PERIODS[period]
    return [(now - length * (i + 1), now - length * i) for i in reversed(range(WINDOWS))]


async def kpi_trends(
    session: AsyncSession, *, period: str, tier: str | None, team: str | None, now: datetime
) -> tuple[list[Series], list[tuple[datetime, datetime]]]:
    """Every figure over the windows, with its chart."""
    spans = windows(now, period)
    reports = [
        await compute_kpis(session, start=start, end=end, tier=tier, team=team, now=now)
        for start, end in spans
    ]
    labels = [end.strftime("%d %b") for _, end in spans]
    series: list[Series] = []
    for key, title, unit, kind, value_of, field in FIGURES:
        measured = [value_of(report) for report in reports]
        points = [Point(label, value) for label, (value, _) in zip(labels, measured, strict=True)]
        description = KpiReport.model_fields[field].description or ""
        latest_value, latest_detail = measured[-1]
        series.append(
            Series(
                key=key,
                title=title,
                definition=description,
                chart=trend(title, points, unit=unit, kind=kind),
                latest=_shown(latest_value, unit),
                detail=latest_detail,
                values=[
                    (label, f"{_shown(value, unit)} ({detail})")
                    for label, (value, detail) in zip(labels, measured, strict=True)
                ],
            )
        )
    return series, spans
