"""Control status of a release: each required control satisfied, waived or missing, and why.

Pure functions over what the ledger holds for a release (no database, no clock of their
own), so the gate, the control-status API and the unit tests share one implementation.
"Latest", "before" and "after" always mean the ledger's own order (the per-system
`sequence`), never the CloudEvents `time` a client claimed: that time is shown, not trusted.
Rules follow each control's `EvidenceSpec` from the latest `tier.assigned`:

- artifact: the latest `artifact.submitted` of the kind for the release, with every
  required section present and non-blank;
- evaluation: for each metric (the spec's, else the decision's `evaluation_minimums`), the
  latest `evaluation.completed` of the release (of the spec's suite, if named) that measured it
  meets the bound;
- approval: the control's approval specs are requirements (`role`, `count`); a principal's
  latest decision in a role on the release, recorded after the last material change, counts
  if it is an `approval.granted` that was not revoked (by an `approval.revoked` of the same
  release naming its id) and the principal submitted nothing for the release (no submitter
  approves); each principal counts toward at most one requirement,
  assigned so that as many requirements as possible are met;
- monitoring: the latest `monitoring.probe.completed` published by the monitoring router
  (`aigov_events.actors.MONITORING_ROUTER`; results from anyone else are ignored) of every
  probe of the system (of the spec's signals, if any: probes named `<signal>` or
  `<signal>-...`) is ok;
- lineage: any `lineage.recorded` for the system (for this release, or for none in particular).

A release's submitters are the actors of every event about it that does not decide on it
(`aigov_events.catalog.DECISION_TYPES`). A control with no evidence spec stays missing unless
waived. A waiver covers a control only while granted, unexpired at `now`, for this release,
and decided by someone who neither requested it nor submitted evidence for the release.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Final, Literal

from aigov_events.actors import MONITORING_ROUTER
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
    sequence: int
    """Position in the system's ledger chain: the only order the rules use."""
    version: str | None
    time: datetime
    """The time its publisher claimed: shown, never compared."""
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
    requested_at: datetime | None = None


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


def _in_ledger_order(items: Iterable[Evidence]) -> list[Evidence]:
    return sorted(items, key=lambda item: item.sequence)


def _unique(names: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for name in names if name))


def _names(names: Sequence[str]) -> str:
    return ", ".join(names)


class ReleaseEvidence:
    """The evidence records of one release (and of its system), in ledger order for the rules."""

    def __init__(
        self,
        *,
        version: str,
        submitter: str | None,
        records: Sequence[Evidence],
        submitters: Iterable[str] = (),
    ) -> None:
        self.version = version
        self.submitter = submitter
        ordered = _in_ledger_order(records)
        release = [r for r in ordered if r.version == version]
        # The ledger's full list (`submitters`) also holds events the rules never read,
        # such as deployment requests; the records add what this read saw.
        self.submitters = _unique(
            [submitter, *submitters, *(r.actor for r in release if not r.payload.decides)]
        )
        self.artifacts = [r for r in release if isinstance(r.payload, ArtifactSubmitted)]
        self.evaluations = [r for r in release if isinstance(r.payload, EvaluationCompleted)]
        self.approvals = [
            r
            for r in release
            if isinstance(r.payload, ApprovalGranted | ApprovalDenied | ApprovalRevoked)
        ]
        probes = [r for r in ordered if isinstance(r.payload, MonitoringProbeCompleted)]
        # Only the router verifies alert routes; anyone else's result is recorded, not trusted.
        self.probes = [r for r in probes if r.actor == MONITORING_ROUTER]
        self.untrusted_probes = [r for r in probes if r.actor != MONITORING_ROUTER]
        self.lineage = [
            r
            for r in ordered
            if isinstance(r.payload, LineageRecorded) and r.version in (None, version)
        ]
        self.changes = [r for r in ordered if isinstance(r.payload, MaterialChangeDetected)]
        barred = set(self.submitters)
        change_approvals = [
            r
            for r in self.approvals
            if isinstance(r.payload, ApprovalGranted)
            and r.payload.scope == ApprovalScope.MATERIAL_CHANGE
            and r.actor not in barred
        ]
        # A change is cleared only by an approval recorded after it: change ids are
        # predictable, so an approval given in advance approves nothing.
        self.pending = [
            c
            for c in self.changes
            if isinstance(c.payload, MaterialChangeDetected)
            and not any(
                isinstance(a.payload, ApprovalGranted)
                and a.payload.material_change_id == c.payload.change_id
                and a.sequence > c.sequence
                for a in change_approvals
            )
        ]

    @property
    def last_change(self) -> int | None:
        """The ledger sequence of the system's last material change, if any."""
        return self.changes[-1].sequence if self.changes else None

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

    def approval(self, specs: Sequence[EvidenceSpec]) -> list[_Outcome]:
        """One outcome per approval requirement of a control, each principal filling at most one."""
        requirements = [(spec.role or "approver", spec.count or 1) for spec in specs]
        since = self.last_change
        # `revokes` is a CloudEvents id without its source: a revocation voids the approvals
        # of its own release (system and version) with that id, whoever's source sent them.
        revoked = {
            (a.payload.system_id, a.payload.version, a.payload.revokes)
            for a in self.approvals
            if isinstance(a.payload, ApprovalRevoked)
        }
        latest: dict[tuple[str, str], Evidence] = {}
        for decision in self.approvals:
            payload = decision.payload
            if not isinstance(payload, ApprovalGranted | ApprovalDenied):
                continue
            if payload.scope != ApprovalScope.RELEASE:
                continue
            if (payload.system_id, payload.version, decision.event_id) in revoked:
                continue
            if since is not None and decision.sequence <= since:
                continue
            latest[(decision.actor, payload.role)] = decision
        granted = {k: d for k, d in latest.items() if isinstance(d.payload, ApprovalGranted)}
        barred = set(self.submitters)
        capacities: dict[str, dict[str, Evidence]] = {}
        for (actor, role), decision in granted.items():
            if actor not in barred:
                capacities.setdefault(actor, {})[role] = decision
        assigned = assign_approvers(
            requirements, {actor: set(roles) for actor, roles in capacities.items()}
        )
        outcomes: list[_Outcome] = []
        for (role, count), actors in zip(requirements, assigned, strict=True):
            ids = tuple(capacities[actor][role].event_id for actor in actors)
            if len(actors) >= count:
                outcomes.append(_Outcome(True, None, ids))
                continue
            outcomes.append(_Outcome(False, self._unmet(role, count, actors, granted), ids))
        return outcomes

    def _unmet(
        self,
        role: str,
        count: int,
        actors: Sequence[str],
        granted: Mapping[tuple[str, str], Evidence],
    ) -> str:
        """Why one approval requirement is not met, naming every approval that did not count."""
        after = ", after the last material change" if self.last_change is not None else ""
        if count == 1:
            needed, who = "1 approval", "a principal"
        else:
            needed, who = f"{count} approvals", f"{count} different principals"
        by = ""
        if self.submitters:
            noun = "submitter" if len(self.submitters) == 1 else "submitters"
            by = f" by {who} other than the {noun} {_names(self.submitters)}"
        elif count > 1:
            by = f" by {who}"
        has = "none" if not actors else f"{len(actors)} ({_names(actors)})"
        parts = [f"needs {needed} of release {self.version} in role {role}{by}{after}; has {has}"]
        for actor, in_role in granted:
            if in_role != role or actor in actors:
                continue
            if actor in self.submitters:
                parts.append(
                    f"approval by {actor} does not count: {actor} submitted evidence for this "
                    "release"
                )
            else:
                parts.append(
                    f"approval by {actor} in role {role} does not count here: {actor} already "
                    "fills another approval requirement (one principal counts toward one "
                    "requirement)"
                )
        return "; ".join(parts)

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
        parts: list[str] = []
        if not relevant and not wanted:
            parts.append("no monitoring probe has verified the system's alert routes")
        if uncovered:
            parts.append(f"no probe verified signals: {', '.join(uncovered)}")
        if failing:
            parts.append(f"latest result not ok for probes: {', '.join(sorted(failing))}")
            # The router's detail says which receiver failed and why: the person fixing it
            # needs that, not only the probe's name.
            parts.extend(
                f"{name}: {detail}"
                for name in sorted(failing)
                if isinstance(payload := relevant[name].payload, MonitoringProbeCompleted)
                and (detail := payload.detail)
            )
        if not parts:
            return _Outcome(True, None, ids)
        untrusted = [
            probe
            for probe in self.untrusted_probes
            if isinstance(probe.payload, MonitoringProbeCompleted)
            and (
                not wanted
                or any(
                    probe.payload.probe == s or probe.payload.probe.startswith(f"{s}-")
                    for s in wanted
                )
            )
        ]
        if untrusted:
            parts.append(
                f"ignored {len(untrusted)} probe result(s) not published by {MONITORING_ROUTER} "
                f"(from {_names(_unique(p.actor for p in untrusted))})"
            )
        return _Outcome(False, "; ".join(parts), ids)

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
    if spec.kind == EvidenceKind.MONITORING:
        return evidence.monitoring(spec)
    return evidence.lineage_recorded()


def _outcomes(
    control: RequiredControl, evidence: ReleaseEvidence, decision: TierAssigned
) -> list[_Outcome]:
    # Approval specs are checked together: one principal may fill only one of them.
    approvals = [spec for spec in control.evidence if spec.kind == EvidenceKind.APPROVAL]
    outcomes = evidence.approval(approvals) if approvals else []
    return [
        *(
            _check(s, evidence, decision)
            for s in control.evidence
            if s.kind != EvidenceKind.APPROVAL
        ),
        *outcomes,
    ]


def assign_approvers(
    requirements: Sequence[tuple[str, int]], capacities: Mapping[str, Collection[str]]
) -> list[list[str]]:
    """Principals per (role, count) requirement, each in at most one, meeting as many as possible.

    Exact: the largest set of requirements that can all be filled is found by trying subsets
    (a control has at most 10 approval specs) and filling their seats by augmenting paths;
    the seats of the other requirements are then filled as far as they can be.
    """
    seats = [index for index, (_, count) in enumerate(requirements) for _ in range(count)]
    holders = {
        role: [actor for actor, roles in capacities.items() if role in roles]
        for role, _ in requirements
    }
    meetable = [
        index for index, (role, count) in enumerate(requirements) if len(holders[role]) >= count
    ]

    def fill(order: Sequence[int]) -> tuple[dict[int, str], bool]:
        """Kuhn's matching over seats in `order`; a seat once filled stays filled."""
        seated: dict[int, str] = {}
        seat_of: dict[str, int] = {}

        def place(seat: int, seen: set[str]) -> bool:
            for actor in holders[requirements[seats[seat]][0]]:
                if actor in seen:
                    continue
                seen.add(actor)
                if actor not in seat_of or place(seat_of[actor], seen):
                    seated[seat], seat_of[actor] = actor, seat
                    return True
            return False

        complete = True
        for seat in order:
            complete = place(seat, set()) and complete
        return seated, complete

    chosen: tuple[int, ...] = ()
    for size in range(len(meetable), 0, -1):
        found = next(
            (
                subset
                for subset in combinations(meetable, size)
                if fill([s for s, r in enumerate(seats) if r in subset])[1]
            ),
            None,
        )
        if found is not None:
            chosen = found
            break
    first = [s for s, r in enumerate(seats) if r in chosen]
    seated, _ = fill([*first, *(s for s in range(len(seats)) if s not in first)])
    assigned: list[list[str]] = [[] for _ in requirements]
    for seat in sorted(seated):
        assigned[seats[seat]].append(seated[seat])
    return assigned


def covering_waiver(
    control_id: str,
    waivers: Sequence[Waiver],
    *,
    now: datetime,
    barred: Collection[str] = (),
) -> Waiver | None:
    """The unexpired granted waiver covering `control_id` the longest, if any.

    `barred`: principals whose decision does not count (the release's submitters).
    """
    valid = [
        w
        for w in waivers
        if w.status == "granted"
        and control_id in w.controls
        and w.expires_at > now
        and w.decided_by != w.requested_by
        and w.decided_by not in barred
    ]
    return max(valid, key=lambda w: w.expires_at) if valid else None


def pending_waivers(waivers: Sequence[Waiver], *, now: datetime) -> list[Waiver]:
    """Requests of the release nobody has decided yet (and that would not have expired)."""
    return sorted(
        (w for w in waivers if w.status == "requested" and w.expires_at > now),
        key=lambda w: (w.requested_at or w.expires_at, w.waiver_id),
    )


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
        outcomes = _outcomes(control, evidence, decision)
        ids = tuple(i for o in outcomes for i in o.evidence_ids)
        if all(o.ok for o in outcomes):
            return ControlStatus(control.control_id, control.title, "satisfied", evidence_ids=ids)
        reason = "; ".join(o.reason for o in outcomes if not o.ok and o.reason)
    else:
        ids = ()
        reason = "no evidence can satisfy this control: it needs a waiver (or out-of-band review)"
    waiver = covering_waiver(control.control_id, waivers, now=now, barred=evidence.submitters)
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
