"""Hand-built ledger records for the KPI figure tests: one chain per system, payloads typed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aigov_events.actors import MONITORING_ROUTER, TIERING
from aigov_events.catalog import (
    ApprovalGranted,
    ArtifactSubmitted,
    DeploymentCompleted,
    DeploymentOutcome,
    EvaluationCompleted,
    EventPayload,
    GateDecided,
    IncidentAcknowledged,
    IncidentReported,
    IncidentResolved,
    IncidentSeverity,
    MonitoringProbeCompleted,
    SlaBreached,
    SystemRegistered,
    SystemRetired,
    TierAssigned,
    WaiverGranted,
    WaiverRequested,
)
from aigov_evidence.kpis.facts import Record, SystemFacts
from aigov_evidence.ledger import release_version

POLICY = {"name": "default", "version": "2026.11.0", "sha256": "b" * 64}
TYPED = "/aigov/intake/releases"
"""A typed endpoint's source (a manual upload)."""


def at(day: int, hour: int = 0, minute: int = 0, *, month: int = 11, year: int = 2026) -> datetime:
    """A moment (November 2026 unless told), UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class Chain:
    """One system's ledger chain: records get consecutive sequences in the order added."""

    def __init__(self, system_id: str, *, team: str = "ml") -> None:
        self.system_id = system_id
        self.team = team
        self.records: list[Record] = []

    def add(
        self,
        payload: EventPayload | None,
        when: datetime,
        *,
        event_type: str | None = None,
        actor: str = "ci-bot",
        source: str = TYPED,
    ) -> Record:
        """Append a record recorded by the ledger at `when`."""
        if event_type is None:
            assert payload is not None
            event_type = payload.event_type
        record = Record(
            system_id=self.system_id,
            sequence=len(self.records) + 1,
            event_id=f"{self.system_id}-{len(self.records) + 1}",
            event_type=event_type,
            version=release_version(payload) if payload is not None else None,
            actor=actor,
            source=source,
            recorded_at=when,
            payload=payload,
        )
        self.records.append(record)
        return record

    def facts(self) -> SystemFacts:
        """The system's facts; submitters computed the way the loader's query does."""
        submitters: dict[str, list[str]] = {}
        for r in self.records:
            if r.version is None or r.payload is None or r.payload.decides:
                continue
            actors = submitters.setdefault(r.version, [])
            if r.actor not in actors:
                actors.append(r.actor)
        return SystemFacts(
            system_id=self.system_id,
            team=self.team,
            records=tuple(self.records),
            submitters={v: tuple(a) for v, a in submitters.items()},
        )

    # -- the events -------------------------------------------------------------------------

    def registered(self, when: datetime) -> Record:
        return self.add(None, when, event_type=SystemRegistered.event_type, actor="dana.kim")

    def retired(self, when: datetime) -> Record:
        return self.add(None, when, event_type=SystemRetired.event_type, actor="dana.kim")

    def tier(self, when: datetime, tier: str, **fields: Any) -> Record:
        payload = TierAssigned.model_validate(
            {
                "system_id": self.system_id,
                "tier": tier,
                "rules": [],
                "policy": POLICY,
                "manifest_revision": 1,
                "manifest_sha256": "a" * 64,
                "required_controls": fields.get("controls", []),
                "evaluation_minimums": [],
                "required_approvals": [],
                "monitoring": [{"signal": s} for s in fields.get("signals", [])],
                "incident_slas": fields.get("slas", []),
            }
        )
        return self.add(payload, when, actor=TIERING, source="/aigov/tiering")

    def gate(
        self,
        when: datetime,
        version: str,
        *,
        allowed: bool,
        tier: str,
        waived: list[dict[str, Any]] | None = None,
    ) -> Record:
        payload = GateDecided.model_validate(
            {
                "system_id": self.system_id,
                "version": version,
                "allowed": allowed,
                "tier": tier,
                "policy": POLICY,
                "missing_controls": []
                if allowed
                else [{"control_id": "approval.release", "reason": "no approval"}],
                "waived_controls": waived or [],
                "decided_at": when.isoformat(),
            }
        )
        return self.add(payload, when)

    def deployed(self, when: datetime, version: str) -> Record:
        payload = DeploymentCompleted(
            system_id=self.system_id,
            version=version,
            environment="production",
            region="EU",
            outcome=DeploymentOutcome.SUCCEEDED,
        )
        return self.add(payload, when)

    def artifact(self, when: datetime, version: str, sections: dict[str, str]) -> Record:
        payload = ArtifactSubmitted(
            system_id=self.system_id,
            version=version,
            kind="model_card",
            title="Model card",
            uri="https://docs.example.com/card",
            sha256="c" * 64,
            sections=sections,
        )
        return self.add(payload, when)

    def evaluation(
        self, when: datetime, version: str, value: float, *, traced: bool, **kwargs: Any
    ) -> Record:
        run: dict[str, Any] = {"id": "run-1"}
        if traced:
            run["url"] = "https://ci.example.com/runs/1"
        payload = EvaluationCompleted.model_validate(
            {
                "system_id": self.system_id,
                "version": version,
                "suite": "release-evaluation",
                "metrics": [{"name": "groundedness", "value": value, "higher_is_better": True}],
                "datasets": [{"id": "eval-set", "version": "7"}],
                "raw_outputs_uri": "s3://evals/outputs.jsonl" if traced else None,
                "run": run,
            }
        )
        return self.add(payload, when, **kwargs)

    def approval(self, when: datetime, version: str, *, evidence: list[str]) -> Record:
        payload = ApprovalGranted(
            system_id=self.system_id,
            version=version,
            rationale="Looks fine.",
            evidence=evidence,
        )
        return self.add(payload, when, actor="risk-officer")

    def waiver(self, when: datetime, version: str, waiver_id: str, expires: datetime) -> Record:
        payload = WaiverRequested(
            system_id=self.system_id,
            version=version,
            waiver_id=waiver_id,
            controls=["artifact.model_card"],
            justification="Limitations section lands next week.",
            expires_at=expires,
        )
        return self.add(payload, when)

    def waiver_granted(self, when: datetime, version: str, waiver_id: str) -> Record:
        payload = WaiverGranted(
            system_id=self.system_id, version=version, waiver_id=waiver_id, rationale="ok"
        )
        return self.add(payload, when, actor="risk-officer")

    def probe(self, when: datetime, *, ok: bool, actor: str = MONITORING_ROUTER) -> Record:
        payload = MonitoringProbeCompleted(
            system_id=self.system_id, probe="drift-alert-route", ok=ok, observed_at=when
        )
        return self.add(payload, when, actor=actor, source="/aigov/monitoring-router")

    def incident(
        self,
        when: datetime,
        incident_id: str,
        *,
        severity: str,
        category: str,
        version: str | None = None,
    ) -> Record:
        payload = IncidentReported(
            system_id=self.system_id,
            incident_id=incident_id,
            version=version,
            severity=IncidentSeverity(severity),
            category=category,
            summary="Something went wrong",
            reported_by="support",
            serious=False,
            occurred_at=when,
        )
        return self.add(payload, when, actor="dana.kim")

    def acknowledged(self, when: datetime, incident_id: str) -> Record:
        payload = IncidentAcknowledged(system_id=self.system_id, incident_id=incident_id)
        return self.add(payload, when, actor="dana.kim")

    def resolved(self, when: datetime, incident_id: str) -> Record:
        payload = IncidentResolved(
            system_id=self.system_id, incident_id=incident_id, resolution="fixed"
        )
        return self.add(payload, when, actor="dana.kim")

    def sla_breached(self, when: datetime, incident_id: str, *, due: datetime) -> Record:
        payload = SlaBreached(
            system_id=self.system_id,
            incident_id=incident_id,
            sla="acknowledge",
            due_at=due,
            breached_at=when,
        )
        return self.add(payload, when, actor=MONITORING_ROUTER, source="/aigov/monitoring-router")


MODEL_CARD = {
    "control_id": "artifact.model_card",
    "evidence": [
        {
            "kind": "artifact",
            "artifact_kind": "model_card",
            "required_sections": ["intended_use", "limitations"],
        }
    ],
}
MINIMUMS = {
    "control_id": "evaluation.minimums",
    "evidence": [
        {
            "kind": "evaluation",
            "metrics": [{"metric": "groundedness", "op": ">=", "threshold": 0.8}],
        }
    ],
}
APPROVAL = {
    "control_id": "approval.release",
    "evidence": [{"kind": "approval", "role": "approver", "count": 1}],
}
HIGH_SLAS = [{"severity": "high", "acknowledge_within_minutes": 15, "resolve_within_minutes": 240}]
MEDIUM_SLAS = [
    {"severity": "medium", "acknowledge_within_minutes": 60, "resolve_within_minutes": 1440}
]
DAY = timedelta(days=1)
