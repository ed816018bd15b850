"""Parts several documents share: facts from the manifest, artifact sections, metric tables, gaps.

Every value is copied from a dossier; every absence becomes a `Gap` that names the required
controls whose evidence would supply it (matched by artifact kind, evidence kind or EU AI Act
article), never made-up text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Final

from aigov_events.catalog import (
    ApprovalGranted,
    ApprovalRevoked,
    ArtifactSubmitted,
    ComparisonOp,
    EvaluationMinimum,
    EvidenceKind,
    RequiredControl,
)
from aigov_evidence.documents.document import Fact, Gap, Item, Section, Table, Text
from aigov_evidence.documents.dossier import Dossier, Record

NONE: Final = "none"

Part = tuple[list[Item], list[Gap]] | list[Item]
"""What a builder contributes to a section: items and gaps, or items only."""


def section(key: str, title: str, *parts: Part) -> Section:
    """A section made of parts, in order (items first as given, then every gap)."""
    items: list[Item] = []
    gaps: list[Gap] = []
    for part in parts:
        if isinstance(part, tuple):
            items.extend(part[0])
            gaps.extend(part[1])
        else:
            items.extend(part)
    return Section(key=key, title=title, items=tuple(items), gaps=tuple(gaps))


def when(moment: datetime | None) -> str:
    """A timestamp as documents show it (UTC, to the second)."""
    if moment is None:
        return "not recorded"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def number(value: float) -> str:
    """A metric value or threshold, without float noise."""
    return f"{value:g}"


def listed(values: Iterable[str]) -> str:
    """Values joined for one line; `none` for an empty list (declared empty, not unknown)."""
    items = [str(v) for v in values]
    return ", ".join(items) if items else NONE


def yes_no(value: bool) -> str:
    """A declared boolean."""
    return "yes" if value else "no"


def _article_number(article: str) -> str:
    return article.split("(", 1)[0]


def supplying_controls(
    dossier: Dossier,
    *,
    artifact_kinds: Sequence[str] = (),
    evidence_kinds: Sequence[EvidenceKind] = (),
    articles: Sequence[str] = (),
) -> tuple[str, ...]:
    """The required controls that would supply a missing part, as `id (title)`.

    A control matches by the artifact kind or evidence kind its evidence specs name; failing
    any such match, by the EU AI Act articles (`9`, `72`; `26(2)` counts as `26`) it maps to.
    """
    decision = dossier.decision
    if decision is None:
        return ()
    controls: list[RequiredControl] = list(decision.required_controls)

    def by_evidence(control: RequiredControl) -> bool:
        return any(
            (spec.kind == EvidenceKind.ARTIFACT and spec.artifact_kind in artifact_kinds)
            or spec.kind in evidence_kinds
            for spec in control.evidence
        )

    wanted = {_article_number(a) for a in articles}

    def by_article(control: RequiredControl) -> bool:
        return bool(wanted & {_article_number(a) for a in control.frameworks.eu_ai_act})

    matched = [c for c in controls if by_evidence(c)] or [c for c in controls if by_article(c)]
    return tuple(f"{c.control_id} ({c.title})" if c.title else c.control_id for c in matched)


def gap(
    dossier: Dossier,
    missing: str,
    *,
    artifact_kinds: Sequence[str] = (),
    evidence_kinds: Sequence[EvidenceKind] = (),
    articles: Sequence[str] = (),
) -> Gap:
    """A gap naming the required controls that would fill it (or saying that none would)."""
    controls = supplying_controls(
        dossier, artifact_kinds=artifact_kinds, evidence_kinds=evidence_kinds, articles=articles
    )
    note = None
    if not controls:
        policy = dossier.decision.policy if dossier.decision is not None else None
        note = (
            f"no control the tier decision requires (policy {policy.name} {policy.version}) "
            "supplies it"
            if policy is not None
            else "the system has no tier decision yet"
        )
    return Gap(missing=missing, controls=controls, note=note)


def artifact_part(
    dossier: Dossier,
    kind: str,
    sections: Sequence[tuple[str, str]],
    *,
    articles: Sequence[str] = (),
    optional: bool = False,
    cite: bool = True,
) -> tuple[list[Item], list[Gap]]:
    """Facts from the release's latest artifact of `kind`: the named sections (key, label).

    No artifact: one gap (for an `optional` artifact only if a required control asks for
    it). An artifact without some of the sections: one gap per section. `cite` adds where
    the artifact is (title, URI, hash, event): once per document is enough.
    """
    artifact = dossier.latest_artifact(kind)
    if artifact is None:
        if optional and not supplying_controls(dossier, artifact_kinds=[kind]):
            return [], []
        missing = f"not recorded: no artifact of kind {kind} for release {dossier.version}"
        return [], [gap(dossier, missing, artifact_kinds=[kind], articles=articles)]
    payload = artifact.payload
    items: list[Item] = []
    gaps: list[Gap] = []
    for key, label in sections:
        text = payload.sections.get(key, "").strip()
        if text:
            items.append(Fact(label, text))
        else:
            gaps.append(
                gap(
                    dossier,
                    f"not recorded: {kind} artifact {artifact.event_id} has no section {key}",
                    artifact_kinds=[kind],
                    articles=articles,
                )
            )
    if cite:
        items.append(artifact_source(artifact))
    return items, gaps


def artifact_source(artifact: Record[ArtifactSubmitted]) -> Fact:
    """Where an artifact is and which recorded version the document quotes."""
    payload = artifact.payload
    return Fact(
        f"Source ({payload.kind})",
        f"{payload.title}, {payload.uri} (sha256 {payload.sha256}; "
        f"event {artifact.event_id}, submitted by {artifact.actor} at {when(artifact.time)})",
    )


def other_sections(dossier: Dossier, kind: str, shown: Iterable[str]) -> list[Item]:
    """The sections of the latest artifact of `kind` that no other part of a document shows."""
    artifact = dossier.latest_artifact(kind)
    if artifact is None:
        return []
    skip = set(shown)
    return [
        Fact(key.replace("_", " ").capitalize(), text)
        for key, text in artifact.payload.sections.items()
        if key not in skip and text.strip()
    ]


def _minimums(dossier: Dossier) -> list[EvaluationMinimum]:
    """The tier's evaluation minimums and every control's own metric bounds, once each."""
    decision = dossier.decision
    if decision is None:
        return []
    found: dict[tuple[str, str, float], EvaluationMinimum] = {}
    specs = [
        spec
        for control in decision.required_controls
        for spec in control.evidence
        if spec.kind == EvidenceKind.EVALUATION
    ]
    for minimum in [*decision.evaluation_minimums, *(m for s in specs for m in s.metrics)]:
        found.setdefault((minimum.metric, minimum.op.value, minimum.threshold), minimum)
    return list(found.values())


def _unmeasured(dossier: Dossier, metric: str) -> Gap:
    """A metric with a minimum that no evaluation measured, and the controls checking it."""
    missing = f"not recorded: no evaluation of release {dossier.version} measured {metric}"
    decision = dossier.decision
    checking = [
        f"{c.control_id} ({c.title})" if c.title else c.control_id
        for c in (decision.required_controls if decision is not None else [])
        if any(
            spec.kind == EvidenceKind.EVALUATION
            # A spec without metrics checks the decision's minimums (controls.py).
            and (not spec.metrics or metric in {m.metric for m in spec.metrics})
            for spec in c.evidence
        )
    ]
    if checking:
        return Gap(missing=missing, controls=tuple(checking))
    return Gap(
        missing=missing,
        note="the tier's evaluation minimums list it, but no required control checks it",
    )


def _meets(value: float, minimum: EvaluationMinimum) -> bool:
    # The same comparison as the gate's (controls.py): `value op threshold`.
    if minimum.op == ComparisonOp.GE:
        return value >= minimum.threshold
    return value <= minimum.threshold


def evaluation_part(dossier: Dossier) -> tuple[list[Item], list[Gap]]:
    """Each minimum against the latest evaluation of the release that measured it, then the runs."""
    minimums = _minimums(dossier)
    items: list[Item] = []
    gaps: list[Gap] = []
    rows: list[tuple[str, ...]] = []
    for minimum in minimums:
        measured = [
            (run, metric)
            for run in dossier.evaluations
            for metric in run.payload.metrics
            if metric.name == minimum.metric
        ]
        bound = f"{minimum.op.value} {number(minimum.threshold)}"
        if not measured:
            rows.append((minimum.metric, "not measured", bound, "not measured", NONE))
            gaps.append(_unmeasured(dossier, minimum.metric))
            continue
        run, metric = measured[-1]
        verdict = "meets" if _meets(metric.value, minimum) else "FAILS"
        rows.append(
            (
                minimum.metric,
                number(metric.value),
                bound,
                verdict,
                f"{run.payload.suite} run {run.payload.run.id} ({run.event_id})",
            )
        )
    if rows:
        items.append(
            Table(
                ("metric", "measured", "minimum", "result", "evaluation"),
                tuple(rows),
                caption="Metrics against the minimums of the tier decision (latest measurement)",
            )
        )
    elif dossier.decision is not None:
        items.append(Text("The tier decision sets no metric minimums."))
    runs = [
        (
            run.payload.suite,
            run.payload.run.id,
            listed(f"{d.id} v{d.version}" for d in run.payload.datasets),
            listed(f"{m.name}={number(m.value)}" for m in run.payload.metrics),
            run.payload.run.url or run.payload.run.commit or NONE,
            f"{run.event_id} by {run.actor} at {when(run.time)}",
        )
        for run in dossier.evaluations
    ]
    if runs:
        items.append(
            Table(
                ("suite", "run", "datasets", "metrics", "run link or commit", "event"),
                tuple(runs),
                caption="Evaluation runs recorded for the release",
            )
        )
    else:
        gaps.append(
            gap(
                dossier,
                f"not recorded: no evaluation of release {dossier.version}",
                evidence_kinds=[EvidenceKind.EVALUATION],
            )
        )
    return items, gaps


def controls_table(dossier: Dossier) -> list[Item]:
    """Every required control's state for the release, as the gate computes it."""
    if not dossier.controls:
        return []
    rows = tuple(
        (
            c.control_id,
            c.title or "",
            c.state,
            (f"waiver {c.waiver_id} until {when(c.waiver_expires_at)}; " if c.waiver_id else "")
            + (c.reason or ""),
        )
        for c in dossier.controls
    )
    return [
        Table(
            ("control", "title", "state", "reason"),
            rows,
            caption=f"Controls the tier decision requires, at {when(dossier.generated_at)}",
        )
    ]


def approvals_part(dossier: Dossier) -> tuple[list[Item], list[Gap]]:
    """Every approval decision on the release, with its rationale."""
    rows = []
    for record in dossier.approvals:
        payload = record.payload
        if isinstance(payload, ApprovalRevoked):
            rows.append(
                ("revoked", record.actor, "", f"revokes {payload.revokes}: {payload.reason}", "")
            )
            continue
        decision = "granted" if isinstance(payload, ApprovalGranted) else "denied"
        scope = payload.scope.value
        if payload.material_change_id:
            scope = f"{scope} {payload.material_change_id}"
        rows.append(
            (
                decision,
                record.actor,
                payload.role,
                payload.rationale,
                f"{scope}; {when(record.time)}; {record.event_id}",
            )
        )
    if rows:
        table = Table(
            ("decision", "by", "role", "rationale", "scope, time, event"),
            tuple(rows),
            caption="Approval decisions on the release",
        )
        return [table], []
    missing = f"not recorded: no approval decision on release {dossier.version}"
    return [], [gap(dossier, missing, evidence_kinds=[EvidenceKind.APPROVAL], articles=["14"])]


def waivers_part(dossier: Dossier) -> list[Item]:
    """The release's waivers: what they waive, why, with which compensating controls."""
    if not dossier.waivers:
        return [Text(f"No waiver was requested for release {dossier.version}.")]
    rows = tuple(
        (
            w.waiver_id,
            listed(w.controls),
            w.status,
            w.justification,
            listed(w.compensating_controls),
            when(w.expires_at),
            f"requested by {w.requested_by}"
            + (f"; decided by {w.decided_by}: {w.rationale}" if w.decided_by else ""),
        )
        for w in dossier.waivers
    )
    return [
        Table(
            (
                "waiver",
                "controls",
                "status",
                "justification",
                "compensating controls",
                "expires",
                "decision",
            ),
            rows,
            caption="Waivers of the release",
        )
    ]


def monitoring_part(dossier: Dossier) -> tuple[list[Item], list[Gap]]:
    """Required signals, probe results, alert routes, incident SLAs and the on-call."""
    decision = dossier.decision
    items: list[Item] = [Fact("On-call", dossier.system.oncall or "not declared in the manifest")]
    gaps: list[Gap] = []
    if decision is not None:
        items.append(
            Fact(
                "Signals the tier requires monitoring for",
                listed(
                    f"{m.signal} ({m.description})" if m.description else m.signal
                    for m in decision.monitoring
                ),
            )
        )
        if decision.incident_slas:
            items.append(
                Table(
                    ("severity", "acknowledge within", "resolve within"),
                    tuple(
                        (
                            s.severity.value,
                            f"{s.acknowledge_within_minutes} min",
                            f"{s.resolve_within_minutes} min",
                        )
                        for s in decision.incident_slas
                    ),
                    caption="Incident SLAs of the tier",
                )
            )
    if dossier.probes:
        items.append(
            Table(
                ("probe", "result", "detail", "observed"),
                tuple(
                    (
                        p.payload.probe,
                        "ok" if p.payload.ok else "FAILED",
                        p.payload.detail or "",
                        when(p.payload.observed_at),
                    )
                    for p in dossier.probes
                ),
                caption="Latest result of each monitoring probe (monitoring router)",
            )
        )
    elif decision is not None and decision.monitoring:
        gaps.append(
            gap(
                dossier,
                "not recorded: the monitoring router never probed the system's alert routes",
                evidence_kinds=[EvidenceKind.MONITORING],
                articles=["72"],
            )
        )
    if dossier.routes:
        items.append(
            Table(
                ("route", "receiver", "channel", "last delivery", "at"),
                tuple(
                    (
                        r.route,
                        r.receiver,
                        r.channel,
                        "delivered" if r.delivered else f"failed: {r.error}",
                        when(r.time),
                    )
                    for r in dossier.routes
                ),
                caption="Where the system's alerts were routed (escalation path)",
            )
        )
    else:
        items.append(Text("No notification of the system's alerts was recorded yet."))
    return items, gaps


def incidents_part(dossier: Dossier) -> list[Item]:
    """The system's incidents (the release each happened in, when known)."""
    if not dossier.incidents:
        return [Text("No incident of the system was recorded.")]
    rows = tuple(
        (
            i.incident_id,
            i.version or "unknown",
            i.severity,
            i.category,
            yes_no(i.serious),
            i.summary,
            i.status + (f": {i.resolution}" if i.resolution else ""),
            when(i.occurred_at),
        )
        for i in dossier.incidents
    )
    return [
        Table(
            ("incident", "release", "severity", "category", "serious", "summary", "status", "at"),
            rows,
            caption="Incidents of the system",
        )
    ]


def tier_part(dossier: Dossier) -> list[Item]:
    """The tier decision and the rules that fired."""
    decision = dossier.decision
    if decision is None:
        return [Text("The system has no tier decision yet.")]
    items: list[Item] = [
        Fact("Tier", decision.tier.value),
        Fact(
            "Policy",
            f"{decision.policy.name} {decision.policy.version} (sha256 {decision.policy.sha256})",
        ),
        Fact("Manifest revision decided on", str(decision.manifest_revision)),
    ]
    if decision.rules:
        items.append(
            Table(
                ("rule", "why it fired"),
                tuple((r.rule_id, r.reason) for r in decision.rules),
                caption="Rules that fired",
            )
        )
    if decision.warnings:
        items.append(Fact("Policy warnings", listed(decision.warnings)))
    return items


def header(dossier: Dossier) -> tuple[Fact, ...]:
    """The identity of the release every document starts with."""
    system = dossier.system
    decision = dossier.decision
    policy = f"{decision.policy.name} {decision.policy.version}" if decision is not None else None
    return (
        Fact("AI system", f"{system.name or dossier.system_id} ({dossier.system_id})"),
        Fact("Release", dossier.version),
        Fact("Owner", f"{system.owner or 'not recorded'} (team {system.team or 'not recorded'})"),
        Fact("Lifecycle status", system.lifecycle_status),
        Fact("Risk tier", f"{dossier.tier} (policy {policy})" if policy else "not tiered yet"),
        Fact(
            "Manifest",
            f"revision {system.manifest_revision} (sha256 {system.manifest_sha256})"
            if system.manifest_revision is not None
            else "not recorded",
        ),
        Fact("Generated", f"{when(dossier.generated_at)}, from the evidence ledger"),
    )


NOTES: Final = (
    "Generated by aigov from the evidence ledger: every statement is copied from a recorded "
    "event (manifest, tier decision, evaluation, artifact, approval, waiver, incident, probe, "
    "notification); nothing is written by hand or inferred.",
    "A gap means no recorded evidence supplies that part; it names the required controls "
    "whose evidence would. Verify the ledger itself with GET /v1/systems/{id}/ledger/verify.",
)


def _no_manifest(dossier: Dossier) -> Gap:
    return Gap(
        missing=f"not recorded: the ledger holds no manifest of {dossier.system_id}",
        note="register the system (POST /v1/systems) so its manifest is evidence",
    )


def purpose_part(dossier: Dossier) -> tuple[list[Item], list[Gap]]:
    """Intended purpose and use case, as the manifest declares them."""
    if dossier.manifest is None:
        return [], [_no_manifest(dossier)]
    spec = dossier.manifest.payload.manifest.spec
    return [
        Fact("Intended purpose (manifest)", spec.purpose),
        Fact("Use case category", spec.use_case.category),
        Fact("EU AI Act Annex III areas", listed(spec.use_case.annex_iii)),
        Fact("EU AI Act Art. 5 practices declared", listed(spec.use_case.prohibited_practices)),
    ], []


def users_part(dossier: Dossier) -> tuple[list[Item], list[Gap]]:
    """Who uses the system and where it runs."""
    if dossier.manifest is None:
        return [], [_no_manifest(dossier)]
    spec = dossier.manifest.payload.manifest.spec
    return [
        Fact("User population", listed(spec.users.population)),
        Fact("Includes minors", yes_no(spec.users.includes_minors)),
        Fact("Available to the general public", yes_no(spec.users.public)),
        Fact("Deployment surfaces", listed(spec.deployment.surfaces)),
        Fact("Environments", listed(spec.deployment.environments)),
        Fact("Regions", listed(spec.deployment.regions)),
    ], []


def data_part(dossier: Dossier) -> tuple[list[Item], list[Gap]]:
    """Data classes, training sources, retrieval corpora and recorded lineage."""
    if dossier.manifest is None:
        return [], [_no_manifest(dossier)]
    spec = dossier.manifest.payload.manifest.spec
    items: list[Item] = [
        Fact("Data classes", listed(spec.data.classes)),
        Fact(
            "Training sources",
            listed(f"{s.id} v{s.version}" for s in spec.data.training_sources),
        ),
    ]
    if spec.data.label_policy:
        items.append(Fact("Label policy", spec.data.label_policy))
    if spec.genai.retrieval is not None:
        items.append(
            Fact(
                "Retrieval corpora",
                listed(f"{c.id} ({listed(c.data_classes)})" for c in spec.genai.retrieval.corpora),
            )
        )
    if dossier.lineage:
        items.append(
            Table(
                ("job", "run", "state", "inputs", "outputs", "event"),
                tuple(
                    (
                        f"{r.payload.job.namespace}/{r.payload.job.name}",
                        r.payload.run_id,
                        r.payload.run_state.value if r.payload.run_state else "",
                        listed(f"{d.namespace}/{d.name}" for d in r.payload.inputs),
                        listed(f"{d.namespace}/{d.name}" for d in r.payload.outputs),
                        r.event_id,
                    )
                    for r in dossier.lineage
                ),
                caption="Lineage recorded for the release (OpenLineage)",
            )
        )
    return items, []


def model_part(dossier: Dossier) -> tuple[list[Item], list[Gap]]:
    """The model: type, architecture, third-party models, prompts, filters, registry versions."""
    if dossier.manifest is None:
        return [], [_no_manifest(dossier)]
    spec = dossier.manifest.payload.manifest.spec
    items: list[Item] = [
        Fact("Model type", spec.model.type),
        Fact("Architecture", spec.model.architecture),
        Fact("Generative", yes_no(spec.genai.generative)),
    ]
    if spec.model.third_party:
        items.append(
            Table(
                ("vendor", "model", "license"),
                tuple((m.vendor, m.model, m.license) for m in spec.model.third_party),
                caption="Third-party models",
            )
        )
    else:
        items.append(Fact("Third-party models", NONE))
    items.append(
        Fact(
            "Prompt templates",
            listed(f"{t.id} (sha256 {t.sha256})" for t in spec.genai.prompt_templates),
        )
    )
    filters = spec.genai.safety_filters
    items.append(Fact("Safety filter policy", filters.policy if filters else "not declared"))
    for record in dossier.model_versions:
        p = record.payload
        items.append(
            Fact(
                "Registered model version",
                f"{p.model_name} version {p.model_version} in {p.registry} ({record.event_id})",
            )
        )
    return items, []


def oversight_part(dossier: Dossier) -> tuple[list[Item], list[Gap]]:
    """Human oversight as declared, the agent's autonomy and tools."""
    if dossier.manifest is None:
        return [], [_no_manifest(dossier)]
    spec = dossier.manifest.payload.manifest.spec
    return [
        Fact("Human oversight (manifest)", spec.human_oversight),
        Fact("Acts autonomously", yes_no(spec.agent.autonomous)),
        Fact(
            "Agent tools",
            listed(f"{t.name} ({listed(t.capabilities)})" for t in spec.agent.tools),
        ),
    ], []


def shortfalls(dossier: Dossier) -> list[Item]:
    """The required controls the release does not meet by evidence (missing or only waived)."""
    unmet = [c for c in dossier.controls if c.state != "satisfied"]
    if not dossier.controls:
        return []
    if not unmet:
        return [Text("Every control the tier decision requires is satisfied by evidence.")]
    return [
        Table(
            ("control", "state", "why"),
            tuple(
                (
                    c.control_id,
                    f"waived by {c.waiver_id}" if c.state == "waived" else c.state,
                    c.reason or "",
                )
                for c in unmet
            ),
            caption="Required controls not met by evidence",
        )
    ]


def pending_changes_part(dossier: Dossier) -> list[Item]:
    """Material changes no approver has approved yet."""
    if not dossier.pending_changes:
        return []
    return [
        Table(
            ("change", "kind", "reason", "detected"),
            tuple(
                (c.change_id, c.kind, c.reason, when(c.detected_at))
                for c in dossier.pending_changes
            ),
            caption="Material changes awaiting approval",
        )
    ]
