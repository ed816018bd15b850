"""What a denied release does next: one step per kind of missing evidence, naming the CLI command
beside the endpoint (docs/cli.md), so the person reading the gate's answer can act on it at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from aigov_events.catalog import EvidenceKind, MissingControl, TierAssigned
from aigov_evidence.controls import PendingChange, Waiver
from aigov_evidence.service import MonitoringTrouble


def _ids(controls: Sequence[str]) -> str:
    return ", ".join(controls)


def missing_kinds(decision: TierAssigned, missing: Sequence[MissingControl]) -> dict[str, set[str]]:
    """The evidence kinds each missing control needs (empty: only a waiver can cover it)."""
    kinds = {
        control.control_id: {spec.kind.value for spec in control.evidence}
        for control in decision.required_controls
    }
    return {m.control_id: kinds.get(m.control_id, set()) for m in missing}


def change_steps(changes: Sequence[PendingChange], system_id: str, version: str) -> list[str]:
    """How each material change awaiting approval is approved."""
    if not changes:
        return []
    ids = _ids([c.change_id for c in changes])
    return [
        f"an approver who submitted nothing for the release approves each material change "
        f"({ids}): `aigov approve --system {system_id} --version {version} --material-change "
        f"<change id> --rationale …` (POST /v1/approvals with scope material_change), then "
        f"re-approves the release"
    ]


def waiver_steps(waiting: Sequence[Waiver], missing_ids: set[str]) -> list[str]:
    """Who must decide each waiver request that would cover a missing control."""
    return [
        f"waiver {w.waiver_id} for control {control_id} awaits an approver other than "
        f"{w.requested_by}: `aigov waiver grant {w.waiver_id} --rationale …` "
        f"(POST /v1/waivers/{w.waiver_id}/grant), or `aigov waiver reject {w.waiver_id} "
        f"--rationale …` (POST /v1/waivers/{w.waiver_id}/reject)"
        for w in waiting
        for control_id in w.controls
        if control_id in missing_ids
    ]


def evidence_steps(
    kinds: dict[str, set[str]], waiting: Sequence[Waiver], system_id: str, version: str
) -> list[str]:
    """One step per kind of evidence the missing controls need, and the waiver alternative."""

    def needing(kind: EvidenceKind) -> list[str]:
        return [c for c, ks in kinds.items() if kind.value in ks]

    release = f"--system {system_id} --version {version}"
    steps: list[str] = []
    if ids := needing(EvidenceKind.EVALUATION):
        steps.append(
            f"send evaluation results meeting the bounds for {_ids(ids)}: "
            f"`aigov emit evaluation {release} --junit …|--metrics …` (POST /v1/evaluations)"
        )
    if ids := needing(EvidenceKind.ARTIFACT):
        steps.append(
            f"submit the governance documents with every required section for {_ids(ids)}: "
            f"`aigov emit artifact {release} --kind … --section …` (POST /v1/artifacts)"
        )
    if ids := needing(EvidenceKind.APPROVAL):
        steps.append(
            f"an approver who submitted nothing for the release approves it for {_ids(ids)}: "
            f"`aigov approve {release} --role … --rationale …` (POST /v1/approvals)"
        )
    if ids := needing(EvidenceKind.LINEAGE):
        steps.append(
            f"record the system's lineage for {_ids(ids)}: send an OpenLineage event "
            f"(POST /v1/webhooks/openlineage on intake)"
        )
    requested = {c for w in waiting for c in w.controls}
    unrequested = [c for c in kinds if c not in requested]
    if unrequested:
        alternative = "or request" if steps else "request"
        steps.append(
            f"{alternative} a waiver for a control ({_ids(unrequested)}): `aigov waiver request "
            f"{release} --control … --justification … --expires 30d` (POST /v1/waivers)"
        )
    if kinds:
        steps.append(
            f"then ask the gate again: `aigov gate {release}` (POST /v1/gate/decisions; "
            f"`--no-record` only reads it: GET /v1/gate)"
        )
    return steps


def monitoring_steps(
    missing: Sequence[MissingControl],
    kinds: dict[str, set[str]],
    trouble: MonitoringTrouble | None,
    system_id: str,
) -> list[str]:
    """How to prove the alert routes: what failed (probe detail, undelivered notifications),
    where to fix the receiver, and the probe to run afterwards."""
    failing = [
        m for m in missing if EvidenceKind.MONITORING.value in kinds.get(m.control_id, set())
    ]
    if not failing or trouble is None:
        return []
    probe = f"`aigov probe run {system_id}` (POST /v1/probes/{system_id} on the monitoring router)"
    if trouble.probed:
        what = [f"{m.control_id}: {m.reason}" for m in failing]
    else:
        what = [f"no monitoring probe has run for {system_id} yet"]
    what.extend(
        f"the latest notification to {f.receiver} ({f.channel}) on route {f.route} failed "
        f"after {f.attempts} attempt{'' if f.attempts == 1 else 's'}: {f.error}"
        for f in trouble.failures
    )
    if trouble.probed or trouble.failures:
        fix = (
            "fix or configure the receiver (docs/services/monitoring-router.md, "
            '"Receivers and formats"), then run a probe: '
        )
    else:
        fix = "run one with "
    return [f"{'; '.join(what)}: {fix}{probe}, and ask the gate again"]
