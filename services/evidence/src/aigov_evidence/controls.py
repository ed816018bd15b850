"""Control status of a release: each required control satisfied, waived or missing, and why.

Pure functions over what the ledger holds for a release (no database, no clock of their
own), so the gate, the control-status API and the unit tests share one implementation.
Rules follow each control's `EvidenceSpec` from the latest `tier.assigned`:

- artifact: the latest `artifact.submitted` of the kind for the release, with every
  required section present and non-blank;
- evaluation: for each metric (the spec's, else the decision's `evaluation_minimums`), the
  latest `evaluation.completed` of the release (of the spec's suite, if named) that measured it
  meets the bound;
- approval: `count` distinct principals in `role`, other than the release's submitter, whose
  latest decision on the release after the last material change is `approval.granted` and not
  revoked;
- monitoring: the latest `monitoring.probe.completed` of every probe of the system (of the
  spec's signals, if any: probes named `<signal>` or `<signal>-...`) is ok;
- lineage: any `lineage.recorded` for the system (for this release, or for none in particular).

A control with no evidence spec stays missing unless waived. A waiver covers a control only
while granted, unexpired at `now`, for this release, and decided by someone other than its
requester.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from aigov_events.catalog import (
    ApprovalDenied,
    ApprovalGranted,
    ApprovalRevoked,
    ArtifactSubmitted,
    ComparisonOp,
    EvaluationCompleted,
    EvaluationMinimum,
    EventPayload,
    EvidenceKind,
    EvidenceSpec,
    LineageRecorded,
    MaterialChangeDetected,
    MonitoringProbeCompleted,
    RequiredControl,
    TierAssigned,
)
from aigov_events.catalog.enums import ApprovalScope

#: Event types read for each kind of evidence.
TYPES_BY_KIND: Final[dict[EvidenceKind, tuple[str, ...]]] = {
    EvidenceKind.ARTIFACT: (ArtifactSubmitted.event_type,),
    EvidenceKind.EVALUATION: (EvaluationCompleted.event_type,),
    EvidenceKind.APPROVAL: (),  # always read, see ALWAYS_READ
    EvidenceKind.MONITORING: (MonitoringProbeCompleted.event_type,),
    EvidenceKind.LINEAGE: (LineageRecorded.event_type,),
}
#: Read for every release: material changes and the approvals that void or clear them.
ALWAYS_READ: Final = tuple(
    model.event_type
    for model in (ApprovalGranted, ApprovalDenied, ApprovalRevoked, MaterialChangeDetected)
)


def evidence_types(decision: TierAssigned) -> list[str]:
    """The event types whose records the decision's controls can use (read nothing else)."""
    kinds = {spec.kind for control in decision.required_controls for spec in control.evidence}
    return sorted({*ALWAYS_READ, *(t for kind in kinds for t in TYPES_BY_KIND[kind])})


State = Literal["satisfied", "waived", "missing"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """One ledger record that may count as evidence."""

    event_id: str
    version: str | None
    time: datetime
    actor: str
    payload: EventPayload


@dataclass(frozen=True, slots=True)
class Waiver:
    """A waiver as the gate needs it."""

    waiver_id: str
    version: str
    controls: Sequence[str]
    status: str
    expires_at: datetime
    requested_by: str
    decided_by: str | None


@dataclass(frozen=True, slots=True)
class ControlStatus:
    """One required control's state for a release."""

    control_id: str
    title: str | None
    state: State
    reason: str | None = None
    evidence_ids: tuple[str, ...] = ()
    waiver_id: str | None = None
    waiver_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PendingChange:
    """A material change no approver has approved yet."""

    change_id: str
    kind: str
    reason: str
    detected_at: datetime
    event_id: str


@dataclass(frozen=True, slots=True)
class ReleaseStatus:
    """Every control of a release plus the material changes awaiting approval."""

    controls: list[ControlStatus]
    pending_changes: list[PendingChange]
    evidence_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Outcome:
    ok: bool
    reason: str | None
    evidence_ids: tuple[str, ...]


def _meets(value: float, minimum: EvaluationMinimum) -> bool:
    if minimum.op == ComparisonOp.GE:
        return value >= minimum.threshold
    return value <= minimum.threshold


def _by_time(items: Sequence[Evidence]) -> list[Evidence]:
    return sorted(items, key=lambda item: item.time)


class ReleaseEvidence:
    """The evidence records of one release (and of its system), sorted for the rules."""

    def __init__(
        self,
        *,
        version: str,
        submitter: str | None,
        records: Sequence[Evidence],
    ) -> None:
        self.version = version
        self.submitter = submitter
        mine = [r for r in records if r.version in (None, version)]
        self.artifacts = _by_time(
            [r for r in mine if isinstance(r.payload, ArtifactSubmitted) and r.version == version]
        )
        self.evaluations = _by_time(
            [r for r in mine if isinstance(r.payload, EvaluationCompleted) and r.version == version]
        )
        self.approvals = _by_time(
            [
                r
                for r in mine
                if isinstance(r.payload, ApprovalGranted | ApprovalDenied | ApprovalRevoked)
                and r.version == version
            ]
        )
        self.probes = _by_time(
            [r for r in records if isinstance(r.payload, MonitoringProbeCompleted)]
        )
        self.lineage = _by_time([r for r in mine if isinstance(r.payload, LineageRecorded)])
        self.changes = _by_time(
            [r for r in records if isinstance(r.payload, MaterialChangeDetected)]
        )
        change_approvals = {
            r.payload.material_change_id
            for r in records
            if isinstance(r.payload, ApprovalGranted)
            and r.payload.scope == ApprovalScope.MATERIAL_CHANGE
            and r.actor != submitter
        }
        self.pending = [
            c
            for c in self.changes
            if isinstance(c.payload, MaterialChangeDetected)
            and c.payload.change_id not in change_approvals
        ]

    @property
    def last_change(self) -> datetime | None:
        """When the last material change of the system was detected."""
        return self.changes[-1].time if self.changes else None

    def artifact(self, spec: EvidenceSpec) -> _Outcome:
        """An artifact of the kind with the required sections present and non-blank."""
        kind = spec.artifact_kind
        matching = [
            a
            for a in self.artifacts
            if isinstance(a.payload, ArtifactSubmitted) and a.payload.kind == kind
        ]
        if not matching:
            return _Outcome(False, f"no {kind} artifact submitted for release {self.version}", ())
        latest = matching[-1]
        assert isinstance(latest.payload, ArtifactSubmitted)
        sections = latest.payload.sections
        absent = [s for s in spec.required_sections if not sections.get(s, "").strip()]
        if absent:
            return _Outcome(
                False,
                f"{kind} artifact {latest.event_id} lacks required sections: {', '.join(absent)}",
                (latest.event_id,),
            )
        return _Outcome(True, None, (latest.event_id,))

    def evaluation(self, spec: EvidenceSpec, defaults: Sequence[EvaluationMinimum]) -> _Outcome:
        """Every metric bound met by the latest evaluation of the release measuring it."""
        minimums = spec.metrics or list(defaults)
        runs = [
            e
            for e in self.evaluations
            if isinstance(e.payload, EvaluationCompleted)
            and (spec.suite is None or e.payload.suite == spec.suite)
        ]
        if not minimums:
            if runs:
                return _Outcome(True, None, (runs[-1].event_id,))
            return _Outcome(False, f"no evaluation of release {self.version}", ())
        failures: list[str] = []
        used: list[str] = []
        for minimum in minimums:
            measured = [
                (run, metric)
                for run in runs
                if isinstance(run.payload, EvaluationCompleted)
                for metric in run.payload.metrics
                if metric.name == minimum.metric
            ]
            if not measured:
                suite = f" in suite {spec.suite}" if spec.suite else ""
                failures.append(
                    f"{minimum.metric}: no evaluation of release {self.version}{suite} measured it "
                    f"(needs {minimum.op.value} {minimum.threshold:g})"
                )
                continue
            run, metric = measured[-1]
            if run.event_id not in used:
                used.append(run.event_id)
            if not _meets(metric.value, minimum):
                failures.append(
                    f"{minimum.metric} = {metric.value:g} fails the minimum "
                    f"{minimum.op.value} {minimum.threshold:g} (evaluation {run.event_id})"
                )
        if failures:
            return _Outcome(False, "; ".join(failures), tuple(used))
        return _Outcome(True, None, tuple(used))

    def approval(self, spec: EvidenceSpec) -> _Outcome:
        """`count` distinct approvers in `role`, not the submitter, after the last material change."""
        role = spec.role or "approver"
        count = spec.count or 1
        since = self.last_change
        revoked = {
            a.payload.revokes for a in self.approvals if isinstance(a.payload, ApprovalRevoked)
        }
        latest_by_actor: dict[str, Evidence] = {}
        for decision in self.approvals:
            payload = decision.payload
            if not isinstance(payload, ApprovalGranted | ApprovalDenied):
                continue
            if payload.scope != ApprovalScope.RELEASE or payload.role != role:
                continue
            if decision.actor == self.submitter or decision.event_id in revoked:
                continue
            if since is not None and decision.time <= since:
                continue
            latest_by_actor[decision.actor] = decision
        granted = [d for d in latest_by_actor.values() if isinstance(d.payload, ApprovalGranted)]
        if len(granted) >= count:
            return _Outcome(True, None, tuple(d.event_id for d in granted[:count]))
        after = " after the last material change" if since is not None else ""
        submitter = f" other than the submitter {self.submitter}" if self.submitter else ""
        return _Outcome(
            False,
            f"needs {count} approval(s) of release {self.version} in role {role} from "
            f"principals{submitter}{after}; has {len(granted)}",
            tuple(d.event_id for d in granted),
        )

    def monitoring(self, spec: EvidenceSpec) -> _Outcome:
        """The latest result of every relevant monitoring probe of the system is ok."""
        latest: dict[str, Evidence] = {}
        for probe in self.probes:
            assert isinstance(probe.payload, MonitoringProbeCompleted)
            latest[probe.payload.probe] = probe
        wanted = spec.signals
        relevant = {
            name: probe
            for name, probe in latest.items()
            if not wanted or any(name == s or name.startswith(f"{s}-") for s in wanted)
        }
        uncovered = [
            s for s in wanted if not any(n == s or n.startswith(f"{s}-") for n in relevant)
        ]
        failing = [
            name
            for name, probe in relevant.items()
            if isinstance(probe.payload, MonitoringProbeCompleted) and not probe.payload.ok
        ]
        ids = tuple(probe.event_id for probe in relevant.values())
        if not relevant and not wanted:
            return _Outcome(False, "no monitoring probe has verified the system's alert routes", ())
        if uncovered or failing:
            parts = []
            if uncovered:
                parts.append(f"no probe verified signals: {', '.join(uncovered)}")
            if failing:
                parts.append(f"latest result not ok for probes: {', '.join(sorted(failing))}")
            return _Outcome(False, "; ".join(parts), ids)
        return _Outcome(True, None, ids)

    def lineage_recorded(self) -> _Outcome:
        """Any lineage record for the system (this release's, or one not tied to a release)."""
        if not self.lineage:
            return _Outcome(False, "no lineage recorded for the system", ())
        return _Outcome(True, None, (self.lineage[-1].event_id,))


def _check(spec: EvidenceSpec, evidence: ReleaseEvidence, decision: TierAssigned) -> _Outcome:
    if spec.kind == EvidenceKind.ARTIFACT:
        return evidence.artifact(spec)
    if spec.kind == EvidenceKind.EVALUATION:
        return evidence.evaluation(spec, decision.evaluation_minimums)
    if spec.kind == EvidenceKind.APPROVAL:
        return evidence.approval(spec)
    if spec.kind == EvidenceKind.MONITORING:
        return evidence.monitoring(spec)
    return evidence.lineage_recorded()


def covering_waiver(control_id: str, waivers: Sequence[Waiver], *, now: datetime) -> Waiver | None:
    """The unexpired granted waiver covering `control_id` the longest, if any."""
    valid = [
        w
        for w in waivers
        if w.status == "granted"
        and control_id in w.controls
        and w.expires_at > now
        and w.decided_by != w.requested_by
    ]
    return max(valid, key=lambda w: w.expires_at) if valid else None


def control_status(
    control: RequiredControl,
    evidence: ReleaseEvidence,
    decision: TierAssigned,
    waivers: Sequence[Waiver],
    *,
    now: datetime,
) -> ControlStatus:
    """Satisfied by evidence, else waived by an unexpired waiver, else missing with why."""
    if control.evidence:
        outcomes = [_check(spec, evidence, decision) for spec in control.evidence]
        ids = tuple(i for o in outcomes for i in o.evidence_ids)
        if all(o.ok for o in outcomes):
            return ControlStatus(control.control_id, control.title, "satisfied", evidence_ids=ids)
        reason = "; ".join(o.reason for o in outcomes if not o.ok and o.reason)
    else:
        ids = ()
        reason = "no evidence can satisfy this control: it needs a waiver (or out-of-band review)"
    waiver = covering_waiver(control.control_id, waivers, now=now)
    if waiver is not None:
        return ControlStatus(
            control.control_id,
            control.title,
            "waived",
            reason=reason,
            evidence_ids=ids,
            waiver_id=waiver.waiver_id,
            waiver_expires_at=waiver.expires_at,
        )
    return ControlStatus(
        control.control_id, control.title, "missing", reason=reason, evidence_ids=ids
    )


def release_status(
    decision: TierAssigned,
    evidence: ReleaseEvidence,
    waivers: Sequence[Waiver],
    *,
    now: datetime,
) -> ReleaseStatus:
    """The status of every control the decision requires, and the pending material changes."""
    statuses = [
        control_status(control, evidence, decision, waivers, now=now)
        for control in decision.required_controls
    ]
    pending = [
        PendingChange(
            change_id=c.payload.change_id,
            kind=c.payload.kind.value,
            reason=c.payload.reason,
            detected_at=c.time,
            event_id=c.event_id,
        )
        for c in evidence.pending
        if isinstance(c.payload, MaterialChangeDetected)
    ]
    ids: list[str] = []
    for status in statuses:
        if status.state == "satisfied":
            ids.extend(i for i in status.evidence_ids if i not in ids)
    return ReleaseStatus(controls=statuses, pending_changes=pending, evidence_ids=ids)
