"""The governance KPIs as pure functions of `Facts` (no database, no clock of their own).

Definitions (also in docs/kpis.md, with how to read each). Throughout: "in the window" means
recorded by the ledger at or after `start` and before `end` (`recorded_at`, evidence's clock;
never the client's event `time`); "before" and "after" compare ledger `sequence`s of one
system; state ("active", "tier", "current release", waivers) is as of `end`, from records
recorded before it. A system is *active* when a `system.registered` of it is recorded and no
`system.retired`; its *tier* is that of its latest `tier.assigned` (`untiered` without one).
The `tier` filter keeps the systems of that tier.

- artifact completion: releases with a successful `deployment.completed` in the window (each
  release once, at its first one in the window); complete when every artifact evidence spec of
  the controls required by the tier decision in force at that record (the latest
  `tier.assigned` before it) is met by `artifact.submitted` records before it, by the gate's
  artifact rule. A release deployed without any tier decision is incomplete.
- control coverage: for each active system with a tier decision and a gate decision, its
  current release is the version of its last `gate.decided`; every control the latest tier
  decision requires counts once, and is covered when satisfied or waived (the gate's rules, at
  `end`, waivers rebuilt from the ledger's waiver records).
- incidents: `incident.reported` in the window (each incident id once), by severity and by
  category; per active system = incidents / active systems.
- escape rate: a release *escaped* when an `incident.reported` in the window names it and a
  `gate.decided` allowing it was recorded before that incident; it was *caught* when a
  `gate.decided` denying it is in the window and it did not escape. escaped / (escaped + caught).
- evidence quality: each release with a `gate.decided` in the window scores 1 + one point per
  criterion met: evaluated, traceable evaluation, complete artifacts, justified approvals
  (see `ReleaseQuality`).
- cycle time: seconds from a system's first `system.registered` to its first allowing
  `gate.decided` (any release), for systems whose first allow is in the window; median and
  90th percentile (nearest rank).
- rework rate: releases whose first allowing `gate.decided` is in the window; reworked when a
  denying one was recorded before it.
- monitoring coverage: active high-tier systems; verified when, for every signal of the tier
  decision's `monitoring`, the latest `monitoring.probe.completed` of the monitoring router named
  `<signal>` or `<signal>-…` is ok (the monitoring control's rule; no signal listed: every
  probe's latest result ok, and at least one).
- SLA adherence: incidents of the window. Breached when the monitoring router recorded an
  `sla.breached` for it (any SLA: acknowledge, contain, resolve, Art. 73), or, by the ledger's
  clock and the `incident_slas` of the tier decision in force when it was reported, its first
  acknowledgement (`incident.acknowledged`, `.contained` or `.resolved`) or its
  `incident.resolved` came after the deadline (or has not come and the deadline passed before
  `end`). Met when resolved and not breached; pending otherwise. met / (met + breached).
- control automation: the satisfied (not waived) controls of control coverage; automated when
  every evidence record that satisfied it was machine-sent (`machine_sent`).
- waiver dependency: releases with an allowing `gate.decided` in the window whose last such
  decision has tier `high`; dependent when that decision waived a control.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Final

from aigov_events.actors import SERVICE_ACTORS
from aigov_events.catalog import (
    ApprovalDenied,
    ApprovalGranted,
    ApprovalRevoked,
    ArtifactSubmitted,
    DeploymentCompleted,
    DeploymentOutcome,
    EvaluationCompleted,
    EvidenceKind,
    EvidenceSpec,
    GateDecided,
    IncidentAcknowledged,
    IncidentContained,
    IncidentReported,
    IncidentResolved,
    LineageRecorded,
    MaterialChangeDetected,
    MonitoringProbeCompleted,
    SlaBreached,
    SystemRegistered,
    SystemRetired,
    Tier,
    TierAssigned,
    WaiverExpired,
    WaiverGranted,
    WaiverRejected,
    WaiverRequested,
)
from aigov_events.catalog.enums import ApprovalScope
from aigov_evidence.controls import Evidence, ReleaseEvidence, Waiver, release_status
from aigov_evidence.kpis.facts import Facts, Record, SystemFacts
from aigov_evidence.kpis.report import (
    MAX_RELEASES,
    UNTIERED,
    CycleTime,
    Durations,
    EvidenceQuality,
    IncidentCounts,
    IncidentRates,
    KpiReport,
    QualityDistribution,
    Ratio,
    RatioByTier,
    ReleaseQuality,
    SlaAdherence,
    SlaRatio,
)

#: The CloudEvents source prefix of intake's typed endpoints (`aigov_intake.api.typed_common`):
#: what the CLI and people post through. Evidence does not import intake, a test checks they agree.
TYPED_SOURCE_PREFIX: Final = "/aigov/intake/"
#: The principal names of intake's signed webhook receivers (`webhook:github`, `webhook:mlflow`).
WEBHOOK_ACTOR_PREFIX: Final = "webhook:"
TIER_ORDER: Final = (*(tier.value for tier in Tier), UNTIERED)
_EVIDENCE_PAYLOADS: Final = (
    ArtifactSubmitted,
    EvaluationCompleted,
    ApprovalGranted,
    ApprovalDenied,
    ApprovalRevoked,
    MaterialChangeDetected,
    MonitoringProbeCompleted,
    LineageRecorded,
)


def ratio(numerator: int, denominator: int) -> Ratio:
    """numerator / denominator as a `Ratio` (rate null for an empty denominator)."""
    rate = numerator / denominator if denominator else None
    return Ratio(numerator=numerator, denominator=denominator, rate=rate)


def machine_sent(record: Record) -> bool:
    """Whether a record was sent by a machine rather than uploaded through a typed endpoint.

    Machine-sent: published by one of aigov's own services, by a signed webhook receiver's
    principal, or under any CloudEvents source other than intake's typed endpoints (webhook
    adapters use `urn:aigov:webhook:*` or the tool's own source; raw `POST /v1/events` carries
    the sender's source). Everything posted through a typed endpoint (the CLI, scripts, people)
    counts as a manual upload: the ledger cannot tell a person from a script holding the token.
    """
    if record.actor in SERVICE_ACTORS or record.actor.startswith(WEBHOOK_ACTOR_PREFIX):
        return True
    return not record.source.startswith(TYPED_SOURCE_PREFIX)


def nearest_rank(values: Sequence[float], quantile: float) -> float | None:
    """The nearest-rank percentile: the ceil(q·n)-th smallest value (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(quantile * len(ordered))) - 1]


def _tier_key(tier: str) -> int:
    return TIER_ORDER.index(tier) if tier in TIER_ORDER else len(TIER_ORDER)


def _by_tier(items: Iterable[tuple[str, bool]]) -> RatioByTier:
    counts: dict[str, list[int]] = {}
    for tier, ok in items:
        count = counts.setdefault(tier, [0, 0])
        count[0] += int(ok)
        count[1] += 1
    return RatioByTier(
        overall=ratio(sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())),
        by_tier={t: ratio(*counts[t]) for t in sorted(counts, key=_tier_key)},
    )


def _evidence(record: Record) -> Evidence:
    assert record.payload is not None
    # `time` is only shown by the rules; the ledger's clock stands in for the claimed one.
    return Evidence(
        event_id=record.event_id,
        sequence=record.sequence,
        version=record.version,
        time=record.recorded_at,
        actor=record.actor,
        payload=record.payload,
    )


@dataclass(frozen=True, slots=True)
class _Incident:
    reported: Record
    payload: IncidentReported


class _System:
    """One system's history as of the report's end, in the shapes the figures need."""

    def __init__(self, facts: SystemFacts, start: datetime, end: datetime) -> None:
        self.system_id = facts.system_id
        self.start, self.end = start, end
        self.records = sorted(
            (r for r in facts.records if r.recorded_at < end), key=lambda r: r.sequence
        )
        self.submitters = facts.submitters
        self.decisions = [r for r in self.records if isinstance(r.payload, TierAssigned)]
        self.decision = self._payload(self.decisions[-1]) if self.decisions else None
        self.tier = self.decision.tier.value if self.decision else UNTIERED
        registrations = [r for r in self.records if r.event_type == SystemRegistered.event_type]
        self.registered_at = registrations[0].recorded_at if registrations else None
        retired = any(r.event_type == SystemRetired.event_type for r in self.records)
        self.active = self.registered_at is not None and not retired
        self.gates = [r for r in self.records if isinstance(r.payload, GateDecided)]
        self.evidence = [r for r in self.records if isinstance(r.payload, _EVIDENCE_PAYLOADS)]
        # Built once: a release reads its own records and those naming no release (probes,
        # material changes, lineage of the system).
        self._evidence_of: dict[str | None, list[Evidence]] = {}
        for record in self.evidence:
            self._evidence_of.setdefault(record.version, []).append(_evidence(record))
        self._release_evidence: dict[str, ReleaseEvidence] = {}
        self.incident_records: dict[str, list[Record]] = {}
        for record in self.records:
            incident_id = getattr(record.payload, "incident_id", None)
            if isinstance(incident_id, str):
                self.incident_records.setdefault(incident_id, []).append(record)
        self.incidents: list[_Incident] = []
        seen: set[str] = set()
        for record in self.records:
            payload = record.payload
            if isinstance(payload, IncidentReported) and payload.incident_id not in seen:
                seen.add(payload.incident_id)
                if self.in_window(record):
                    self.incidents.append(_Incident(record, payload))

    @staticmethod
    def _payload(record: Record) -> TierAssigned:
        assert isinstance(record.payload, TierAssigned)
        return record.payload

    def in_window(self, record: Record) -> bool:
        """Whether the ledger recorded `record` in [start, end)."""
        return self.start <= record.recorded_at < self.end

    def decision_before(self, sequence: int) -> TierAssigned | None:
        """The tier decision in force just before ledger position `sequence`."""
        earlier = [r for r in self.decisions if r.sequence < sequence]
        return self._payload(earlier[-1]) if earlier else None

    def gate(self, record: Record) -> GateDecided:
        """The gate decision a `gate.decided` record carries."""
        assert isinstance(record.payload, GateDecided)
        return record.payload

    def release_evidence(self, version: str, *, before: int | None = None) -> ReleaseEvidence:
        """The release's evidence (recorded before ledger position `before`, if given)."""
        if before is None and version in self._release_evidence:
            return self._release_evidence[version]
        submitters = self.submitters.get(version, ())
        records = [*self._evidence_of.get(version, ()), *self._evidence_of.get(None, ())]
        evidence = ReleaseEvidence(
            version=version,
            submitter=submitters[0] if submitters else None,
            submitters=submitters,
            records=[r for r in records if before is None or r.sequence < before],
        )
        if before is None:
            self._release_evidence[version] = evidence
        return evidence

    def waivers(self, version: str) -> list[Waiver]:
        """The release's waivers as the ledger's waiver records left them (first decision stands)."""
        found: dict[str, Waiver] = {}
        for record in self.records:
            payload = record.payload
            if isinstance(payload, WaiverRequested):
                if payload.waiver_id not in found:
                    found[payload.waiver_id] = Waiver(
                        waiver_id=payload.waiver_id,
                        version=payload.version,
                        controls=list(payload.controls),
                        status="requested",
                        expires_at=payload.expires_at.astimezone(UTC),
                        requested_by=record.actor,
                        decided_by=None,
                        requested_at=record.recorded_at,
                    )
                continue
            waiver = (
                found.get(payload.waiver_id)
                if isinstance(payload, WaiverGranted | WaiverRejected | WaiverExpired)
                else None
            )
            if waiver is None:
                continue
            if isinstance(payload, WaiverGranted | WaiverRejected) and waiver.status == "requested":
                status = "granted" if isinstance(payload, WaiverGranted) else "rejected"
                found[waiver.waiver_id] = replace(waiver, status=status, decided_by=record.actor)
            elif isinstance(payload, WaiverExpired) and waiver.status == "granted":
                found[waiver.waiver_id] = replace(waiver, status="expired")
        return [w for w in found.values() if w.version == version]

    def versions(self, records: Iterable[Record]) -> dict[str, list[Record]]:
        """Records grouped by the release they name, in ledger order."""
        grouped: dict[str, list[Record]] = {}
        for record in records:
            if record.version is not None:
                grouped.setdefault(record.version, []).append(record)
        return grouped


def _artifact_specs(decision: TierAssigned) -> list[EvidenceSpec]:
    return [
        spec
        for control in decision.required_controls
        for spec in control.evidence
        if spec.kind == EvidenceKind.ARTIFACT
    ]


def artifact_completion(systems: Sequence[_System]) -> RatioByTier:
    """Releases deployed in the window with their required artifacts complete beforehand."""
    items: list[tuple[str, bool]] = []
    for system in systems:
        first: dict[str, Record] = {}
        for record in system.records:
            payload = record.payload
            if (
                isinstance(payload, DeploymentCompleted)
                and payload.outcome == DeploymentOutcome.SUCCEEDED
                and system.in_window(record)
            ):
                first.setdefault(payload.version, record)
        for version, deployed in first.items():
            decision = system.decision_before(deployed.sequence)
            complete = False
            if decision is not None:
                evidence = system.release_evidence(version, before=deployed.sequence)
                complete = all(evidence.artifact(s).ok for s in _artifact_specs(decision))
            items.append((system.tier, complete))
    return _by_tier(items)


def _current_releases(systems: Sequence[_System]) -> list[tuple[_System, str, TierAssigned]]:
    return [
        (system, system.gate(system.gates[-1]).version, system.decision)
        for system in systems
        if system.active and system.decision is not None and system.gates
    ]


def coverage_and_automation(systems: Sequence[_System]) -> tuple[RatioByTier, RatioByTier]:
    """Control coverage and control automation over each active system's current release."""
    coverage: list[tuple[str, bool]] = []
    automation: list[tuple[str, bool]] = []
    for system, version, decision in _current_releases(systems):
        evidence = system.release_evidence(version)
        status = release_status(decision, evidence, system.waivers(version), now=system.end)
        by_id: dict[str, list[Record]] = {}
        for record in system.evidence:
            by_id.setdefault(record.event_id, []).append(record)
        for control in status.controls:
            coverage.append((system.tier, control.state in ("satisfied", "waived")))
            if control.state != "satisfied":
                continue
            records = [r for i in control.evidence_ids for r in by_id.get(i, [])]
            automation.append((system.tier, bool(records) and all(map(machine_sent, records))))
    return _by_tier(coverage), _by_tier(automation)


def _incident_counts(incidents: Sequence[IncidentReported], active: int) -> IncidentCounts:
    return IncidentCounts(
        incidents=len(incidents),
        active_systems=active,
        per_active_system=len(incidents) / active if active else None,
        by_severity=dict(sorted(Counter(i.severity.value for i in incidents).items())),
        by_category=dict(sorted(Counter(i.category for i in incidents).items())),
    )


def incident_rates(systems: Sequence[_System]) -> IncidentRates:
    """Incidents reported in the window, by severity and category, per active system."""
    tiers = sorted({s.tier for s in systems if s.active or s.incidents}, key=_tier_key)

    def counts(members: Sequence[_System]) -> IncidentCounts:
        incidents = [i.payload for s in members for i in s.incidents]
        return _incident_counts(incidents, sum(1 for s in members if s.active))

    return IncidentRates(
        overall=counts(systems),
        by_tier={t: counts([s for s in systems if s.tier == t]) for t in tiers},
    )


def escape_rate(systems: Sequence[_System]) -> RatioByTier:
    """Releases with an incident after an allow, against releases the gate denied in the window."""
    items: list[tuple[str, bool]] = []
    for system in systems:
        gates = system.versions(system.gates)
        escaped = {
            incident.payload.version
            for incident in system.incidents
            if incident.payload.version is not None
            and any(
                system.gate(g).allowed and g.sequence < incident.reported.sequence
                for g in gates.get(incident.payload.version, [])
            )
        }
        caught = {
            version
            for version, records in gates.items()
            if version not in escaped
            and any(not system.gate(g).allowed and system.in_window(g) for g in records)
        }
        items.extend((system.tier, True) for _ in escaped)
        items.extend((system.tier, False) for _ in caught)
    return _by_tier(items)


def release_quality(system: _System, version: str) -> ReleaseQuality:
    """A release's evidence quality score (1-5) and the criteria behind it."""
    evidence = system.release_evidence(version)
    evaluations = [e.payload for e in evidence.evaluations]
    latest = evaluations[-1] if evaluations else None
    traceable = (
        isinstance(latest, EvaluationCompleted)
        and latest.raw_outputs_uri is not None
        and (latest.run.url is not None or latest.run.commit is not None)
    )
    specs = _artifact_specs(system.decision) if system.decision else []
    artifacts = bool(evidence.artifacts) and all(evidence.artifact(s).ok for s in specs)
    grants = [
        a.payload
        for a in evidence.approvals
        if isinstance(a.payload, ApprovalGranted) and a.payload.scope == ApprovalScope.RELEASE
    ]
    justified = bool(grants) and all(
        g.evidence or g.evidence_event_ids or g.evidence_links for g in grants
    )
    criteria = (bool(evaluations), traceable, artifacts, justified)
    return ReleaseQuality(
        system_id=system.system_id,
        version=version,
        tier=system.tier,
        score=1 + sum(criteria),
        evaluated=criteria[0],
        traceable_evaluation=criteria[1],
        complete_artifacts=criteria[2],
        justified_approvals=criteria[3],
    )


def _distribution(releases: Sequence[ReleaseQuality]) -> QualityDistribution:
    counts = Counter(r.score for r in releases)
    return QualityDistribution(
        releases=len(releases),
        mean=statistics.fmean(r.score for r in releases) if releases else None,
        scores={str(score): counts.get(score, 0) for score in range(1, 6)},
    )


def evidence_quality(systems: Sequence[_System]) -> EvidenceQuality:
    """Scores of the releases decided by the gate in the window (listed up to MAX_RELEASES)."""
    scored = sorted(
        (
            release_quality(system, version)
            for system in systems
            for version in system.versions(g for g in system.gates if system.in_window(g))
        ),
        key=lambda r: (r.system_id, r.version),
    )
    tiers = sorted({r.tier for r in scored}, key=_tier_key)
    return EvidenceQuality(
        overall=_distribution(scored),
        by_tier={t: _distribution([r for r in scored if r.tier == t]) for t in tiers},
        releases=scored[:MAX_RELEASES],
        releases_truncated=len(scored) > MAX_RELEASES,
    )


def _durations(values: Sequence[float]) -> Durations:
    return Durations(
        systems=len(values),
        median_seconds=statistics.median(values) if values else None,
        p90_seconds=nearest_rank(values, 0.9),
    )


def cycle_time(systems: Sequence[_System]) -> CycleTime:
    """Registration to first allow, for systems first allowed in the window."""
    measured: list[tuple[str, float]] = []
    for system in systems:
        allows = [g for g in system.gates if system.gate(g).allowed]
        if system.registered_at is None or not allows or not system.in_window(allows[0]):
            continue
        seconds = (allows[0].recorded_at - system.registered_at).total_seconds()
        measured.append((system.tier, max(0.0, seconds)))
    tiers = sorted({t for t, _ in measured}, key=_tier_key)
    return CycleTime(
        overall=_durations([s for _, s in measured]),
        by_tier={t: _durations([s for tier, s in measured if tier == t]) for t in tiers},
    )


def rework_rate(systems: Sequence[_System]) -> RatioByTier:
    """Releases first allowed in the window that the gate had denied before."""
    items: list[tuple[str, bool]] = []
    for system in systems:
        for records in system.versions(system.gates).values():
            allows = [g for g in records if system.gate(g).allowed]
            if not allows or not system.in_window(allows[0]):
                continue
            first = allows[0].sequence
            denied = any(not system.gate(g).allowed and g.sequence < first for g in records)
            items.append((system.tier, denied))
    return _by_tier(items)


def monitoring_coverage(systems: Sequence[_System]) -> RatioByTier:
    """Active high-tier systems whose required alert routes the monitoring router verified."""
    items: list[tuple[str, bool]] = []
    for system in systems:
        if not system.active or system.decision is None or system.tier != Tier.HIGH.value:
            continue
        spec = EvidenceSpec(
            kind=EvidenceKind.MONITORING,
            signals=[m.signal for m in system.decision.monitoring],
        )
        # Probes are about the system, not a release: any version name reads them all.
        items.append((system.tier, system.release_evidence("").monitoring(spec).ok))
    return _by_tier(items)


def _first(records: Iterable[Record], types: tuple[type, ...], incident_id: str) -> Record | None:
    return next(
        (
            r
            for r in records
            if isinstance(r.payload, types)
            and getattr(r.payload, "incident_id", None) == incident_id
        ),
        None,
    )


def sla_adherence(systems: Sequence[_System]) -> SlaAdherence:
    """Incidents of the window whose deadlines were met, among those whose outcome is known."""
    tally: dict[str, list[int]] = {}  # tier -> [met, breached, pending]
    for system in systems:
        for incident in system.incidents:
            incident_id = incident.payload.incident_id
            records = system.incident_records.get(incident_id, [])
            later = [r for r in records if r.sequence > incident.reported.sequence]
            breach = _first(records, (SlaBreached,), incident_id)
            handled = _first(
                later, (IncidentAcknowledged, IncidentContained, IncidentResolved), incident_id
            )
            resolved = _first(later, (IncidentResolved,), incident_id)
            late = False
            decision = system.decision_before(incident.reported.sequence)
            slas = [
                s
                for s in (decision.incident_slas if decision else ())
                if s.severity == incident.payload.severity
            ]
            if slas:
                reported_at = incident.reported.recorded_at
                ack_due = reported_at + _minutes(slas[0].acknowledge_within_minutes)
                resolve_due = reported_at + _minutes(slas[0].resolve_within_minutes)
                late = _missed(handled, ack_due, system.end) or _missed(
                    resolved, resolve_due, system.end
                )
            counts = tally.setdefault(system.tier, [0, 0, 0])
            if breach is not None or late:
                counts[1] += 1
            elif resolved is not None:
                counts[0] += 1
            else:
                counts[2] += 1

    def sla_ratio(met: int, breached: int, pending: int) -> SlaRatio:
        base = ratio(met, met + breached)
        return SlaRatio(**base.model_dump(), pending=pending)

    totals = [sum(c[i] for c in tally.values()) for i in range(3)]
    return SlaAdherence(
        overall=sla_ratio(*totals),
        by_tier={t: sla_ratio(*tally[t]) for t in sorted(tally, key=_tier_key)},
    )


def _minutes(minutes: int) -> timedelta:
    return timedelta(minutes=minutes)


def _missed(done: Record | None, due: datetime, end: datetime) -> bool:
    """A deadline is missed when done after it, or not done and already past at `end`."""
    return done.recorded_at > due if done is not None else end > due


def waiver_dependency(systems: Sequence[_System]) -> RatioByTier:
    """High-tier releases allowed in the window whose last allow rested on a waiver."""
    items: list[tuple[str, bool]] = []
    for system in systems:
        allowed = [g for g in system.gates if system.gate(g).allowed and system.in_window(g)]
        for records in system.versions(allowed).values():
            last = system.gate(records[-1])
            if last.tier == Tier.HIGH:
                items.append((Tier.HIGH.value, bool(last.waived_controls)))
    return _by_tier(items)


def compute(
    facts: Facts,
    *,
    tier: str | None = None,
    team: str | None = None,
    system: str | None = None,
    now: datetime,
) -> KpiReport:
    """Every KPI over the facts' window, for the systems of `tier` (all without one)."""
    systems = [_System(s, facts.start, facts.end) for s in facts.systems]
    if tier is not None:
        systems = [s for s in systems if s.tier == tier]
    coverage, automation = coverage_and_automation(systems)
    return KpiReport(
        start=facts.start,
        end=facts.end,
        computed_at=now,
        tier=tier,
        team=team,
        system=system,
        active_systems=sum(1 for s in systems if s.active),
        artifact_completion=artifact_completion(systems),
        control_coverage=coverage,
        incidents=incident_rates(systems),
        escape_rate=escape_rate(systems),
        evidence_quality=evidence_quality(systems),
        cycle_time=cycle_time(systems),
        rework_rate=rework_rate(systems),
        monitoring_coverage=monitoring_coverage(systems),
        sla_adherence=sla_adherence(systems),
        control_automation=automation,
        waiver_dependency=waiver_dependency(systems),
    )
