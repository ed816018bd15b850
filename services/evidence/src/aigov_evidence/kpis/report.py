"""The KPI report: what `compute_kpis` returns and `GET /v1/kpis` answers (docs/kpis.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

MAX_RELEASES: Final = 500
"""At most this many releases are listed one by one in the evidence quality figure."""
ALL: Final = "all"
"""The `tier` label of a figure over every tier in scope (gauges)."""
UNTIERED: Final = "untiered"
"""The tier key of systems that had no tier decision at the report's end."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Ratio(_Model):
    """A rate as its two counts, so a reader can tell 0 of 0 from 0 of 50."""

    numerator: int = Field(ge=0, description="Items that meet the figure's condition.")
    denominator: int = Field(ge=0, description="Items the figure is taken over.")
    rate: float | None = Field(
        description="numerator / denominator, between 0 and 1; null when the denominator is 0."
    )


class RatioByTier(_Model):
    """A rate over every system in scope, and per tier (tiers with an empty population left out)."""

    overall: Ratio = Field(description="Over the whole population in scope.")
    by_tier: dict[str, Ratio] = Field(
        description="Per tier of the system at the report's end (`untiered`: no tier decision)."
    )


class IncidentCounts(_Model):
    """Incidents reported in the window, against the systems active at its end."""

    incidents: int = Field(ge=0, description="incident.reported records in the window.")
    active_systems: int = Field(ge=0, description="Systems registered and not retired at the end.")
    per_active_system: float | None = Field(
        description="incidents / active_systems; null without active systems."
    )
    by_severity: dict[str, int] = Field(description="Incidents per severity.")
    by_category: dict[str, int] = Field(
        description="Incidents per category (the signal the incident is about: safety, privacy…)."
    )


class IncidentRates(_Model):
    """The AI incident rate, overall and per tier."""

    overall: IncidentCounts
    by_tier: dict[str, IncidentCounts]


class SlaRatio(Ratio):
    """Incidents whose deadlines were met among those whose outcome is known."""

    pending: int = Field(
        ge=0, description="Incidents of the window still open with no deadline missed yet."
    )


class SlaAdherence(_Model):
    """Escalation SLA adherence, overall and per tier."""

    overall: SlaRatio
    by_tier: dict[str, SlaRatio]


class QualityDistribution(_Model):
    """How evidence quality scores (1-5) are spread over releases."""

    releases: int = Field(ge=0, description="Releases scored.")
    mean: float | None = Field(description="Mean score; null without releases.")
    scores: dict[str, int] = Field(
        description='Releases per score, keys "1" to "5" (every key present).'
    )


class ReleaseQuality(_Model):
    """One release's evidence quality score and the criteria behind it."""

    system_id: str
    version: str
    tier: str
    score: int = Field(ge=1, le=5, description="1 + the number of criteria met.")
    evaluated: bool = Field(
        description="An evaluation of the release is recorded (each names its dataset versions "
        "and run id: the catalog requires them)."
    )
    traceable_evaluation: bool = Field(
        description="Its latest evaluation links the raw outputs and the run (url or commit)."
    )
    complete_artifacts: bool = Field(
        description="At least one artifact, and every artifact the tier requires has every "
        "required section."
    )
    justified_approvals: bool = Field(
        description="At least one release approval, each with evidence references (evidence, "
        "evidence_event_ids or evidence_links) besides its rationale."
    )


class EvidenceQuality(_Model):
    """The evidence quality score of the releases that came to the gate in the window."""

    overall: QualityDistribution
    by_tier: dict[str, QualityDistribution]
    releases: list[ReleaseQuality] = Field(
        description=f"Per release, ordered by system and version; at most {MAX_RELEASES}."
    )
    releases_truncated: bool = Field(
        description=f"More than {MAX_RELEASES} releases were scored: narrow with `system` or "
        "`team` to list them all."
    )


class Durations(_Model):
    """A distribution of durations in seconds (ledger clock)."""

    systems: int = Field(ge=0, description="Systems measured.")
    median_seconds: float | None = Field(description="Median; null when nothing was measured.")
    p90_seconds: float | None = Field(
        description="90th percentile (nearest rank); null when nothing was measured."
    )


class CycleTime(_Model):
    """Governance cycle time from registration to the first allowing gate decision."""

    overall: Durations
    by_tier: dict[str, Durations]


class KpiReport(_Model):
    """The governance KPIs over a window (definitions: docs/kpis.md)."""

    start: datetime = Field(description="Window start (inclusive), ledger clock.")
    end: datetime = Field(description="Window end (exclusive); state figures are as of here.")
    computed_at: datetime = Field(description="When the report was computed.")
    tier: str | None = Field(description="The tier filter, if any.")
    team: str | None = Field(description="The team filter, if any.")
    system: str | None = Field(description="The system filter, if any.")
    active_systems: int = Field(
        ge=0, description="Systems in scope registered and not retired at the end."
    )
    artifact_completion: RatioByTier = Field(
        description="Releases deployed in the window whose required artifacts were complete "
        "before the deployment record / releases deployed in the window."
    )
    control_coverage: RatioByTier = Field(
        description="Required controls satisfied or waived / required controls, over each "
        "active system's current release (the version of its last gate decision)."
    )
    incidents: IncidentRates = Field(description="AI incidents reported in the window.")
    escape_rate: RatioByTier = Field(
        description="Releases with an incident after a gate allowed them / (those + releases "
        "the gate denied in the window without such an incident)."
    )
    evidence_quality: EvidenceQuality = Field(
        description="Evidence quality score 1-5 of each release decided by the gate in the window."
    )
    cycle_time: CycleTime = Field(
        description="Seconds from a system's registration to its first allowing gate decision, "
        "for systems whose first allow was recorded in the window."
    )
    rework_rate: RatioByTier = Field(
        description="Releases first allowed in the window that were denied before / releases "
        "first allowed in the window."
    )
    monitoring_coverage: RatioByTier = Field(
        description="High-tier active systems whose required alert routes the monitoring router "
        "verified (latest probe per signal ok) / high-tier active systems."
    )
    sla_adherence: SlaAdherence = Field(
        description="Incidents reported in the window that met every deadline / those whose "
        "outcome is known (resolved, or a deadline missed)."
    )
    control_automation: RatioByTier = Field(
        description="Satisfied controls whose every evidence record was machine-sent / satisfied "
        "controls, over the current releases of control coverage."
    )
    waiver_dependency: RatioByTier = Field(
        description="High-tier releases whose last allow in the window waived a control / "
        "high-tier releases allowed in the window."
    )
