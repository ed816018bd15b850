"""What the read commands print: the inventory, releases, controls, waivers, incidents, evidence,
the ledger's verification and probe runs, as aligned tables (render's conventions: fields read
defensively, a missing value shown as `-`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aigov_cli.render import (
    first,
    items,
    pairs,
    pending_waivers,
    policy_text,
    section,
    short_type,
    table,
)


def _joined(values: Any) -> str | None:
    if isinstance(values, list):
        return ", ".join(str(v) for v in values) if values else None
    return None if values is None else str(values)


def _last_gate(system: Mapping[str, Any]) -> str | None:
    gate = system.get("last_gate")
    if not isinstance(gate, dict):
        return None
    return " ".join(str(v) for v in (gate.get("decision"), gate.get("version")) if v)


def _next_page(answer: Mapping[str, Any], shown: int, what: str) -> list[str]:
    cursor = answer.get("next")
    footer = [f"{shown} {what}."]
    if isinstance(cursor, str) and cursor:
        footer[0] = f"{shown} {what}; more: repeat with --cursor {cursor}"
    return footer


def systems_page(answer: Mapping[str, Any]) -> str:
    """A page of the inventory: one row per AI system, then how to get the next page."""
    systems = items(answer, "items")
    lines = table(
        ["system", "name", "tier", "team", "owner", "status", "latest", "last gate"],
        [
            (
                first(s, "id", "value"),
                s.get("name"),
                s.get("tier") or "not tiered",
                s.get("team"),
                s.get("owner"),
                s.get("lifecycle_status"),
                s.get("latest_version"),
                _last_gate(s),
            )
            for s in systems
        ],
        indent="",
    )
    if not systems:
        lines = ["No AI systems match."]
    return "\n".join([*lines, "", *_next_page(answer, len(systems), "AI system(s)")])


def system_detail(answer: Mapping[str, Any]) -> str:
    """One AI system: who owns it, its tier and policy, what it runs on, its last gate."""
    name = f" ({answer['name']})" if answer.get("name") else ""
    models = [
        " ".join(str(m[k]) for k in ("provider", "model", "name") if m.get(k)) or str(m)
        for m in items(answer, "third_party_models")
    ]
    gate = answer.get("last_gate")
    last_gate = None
    if isinstance(gate, dict):
        last_gate = f"{_last_gate(answer)} at {gate.get('decided_at') or '?'}"
    lines = [
        f"AI system {answer.get('id', '?')}{name}",
        *pairs(
            [
                ("tier", answer.get("tier") or "not tiered yet"),
                ("policy", policy_text(answer)),
                ("tier assigned at", answer.get("tier_assigned_at")),
                ("status", answer.get("lifecycle_status")),
                ("owner", answer.get("owner")),
                ("team", answer.get("team")),
                ("on call", answer.get("oncall")),
                ("latest version", answer.get("latest_version")),
                ("manifest revision", answer.get("manifest_revision")),
                ("surfaces", _joined(answer.get("deployment_surfaces"))),
                ("regions", _joined(answer.get("regions"))),
                ("data classes", _joined(answer.get("data_classes"))),
                ("third-party models", _joined(models)),
                ("open incidents", answer.get("open_incidents")),
                ("last gate", last_gate),
                ("registered at", answer.get("registered_at")),
            ]
        ),
    ]
    return "\n".join(lines)


def _records(records: Sequence[Mapping[str, Any]]) -> list[str]:
    return table(
        ["seq", "time", "type", "version", "actor", "event"],
        [
            (
                r.get("sequence"),
                r.get("time"),
                short_type(str(r.get("type") or "?")),
                r.get("version"),
                r.get("actor"),
                r.get("event_id"),
            )
            for r in records
        ],
    )


def release(answer: Mapping[str, Any]) -> str:
    """A release: who submitted it, its deployments and the evidence recorded for it."""
    lines = [
        f"Release {answer.get('system', '?')} {answer.get('version', '?')}",
        *pairs(
            [
                ("submitters", _joined(answer.get("submitters")) or answer.get("submitter")),
                ("submitted by event", answer.get("submitted_event_id")),
                ("first seen at", answer.get("first_seen_at")),
                ("last event at", answer.get("last_event_at")),
                ("deployment", answer.get("deployment_status") or "not deployed"),
            ]
        ),
    ]
    deployments = items(answer, "deployments")
    section(
        lines, f"Deployments ({len(deployments)})", _records(deployments) if deployments else []
    )
    evidence = items(answer, "evidence")
    section(lines, f"Evidence ({len(evidence)})", _records(evidence) if evidence else [])
    section(
        lines,
        f"Waiver requests awaiting an approver ({len(items(answer, 'pending_waivers'))})",
        pending_waivers(answer),
    )
    return "\n".join(lines)


def controls(answer: Mapping[str, Any]) -> str:
    """Each control a release needs: satisfied (by how many records), waived (until), missing."""
    policy = policy_text(answer)
    controls_ = items(answer, "controls")
    counts = dict.fromkeys(("satisfied", "waived", "missing"), 0)
    for c in controls_:
        if c.get("state") in counts:
            counts[str(c["state"])] += 1
    lines = [
        f"Controls of {answer.get('system', '?')} {answer.get('version', '?')}: "
        f"tier {answer.get('tier', '?')}" + (f", policy {policy}" if policy else ""),
        f"{counts['satisfied']} satisfied, {counts['waived']} waived, {counts['missing']} missing",
        "",
        *table(
            ["control", "state", "evidence", "waiver", "expires", "reason"],
            [
                (
                    first(c, "control_id", "value"),
                    c.get("state"),
                    len(c["evidence_ids"]) if isinstance(c.get("evidence_ids"), list) else None,
                    c.get("waiver_id"),
                    c.get("waiver_expires_at"),
                    c.get("reason"),
                )
                for c in controls_
            ],
            indent="",
        ),
    ]
    changes = items(answer, "pending_material_changes")
    section(
        lines,
        f"Material changes awaiting approval ({len(changes)})",
        table(
            ["change", "kind", "reason"],
            [(c.get("change_id"), c.get("kind"), c.get("reason")) for c in changes],
        )
        if changes
        else [],
    )
    submitters = _joined(answer.get("submitters"))
    if submitters:
        section(lines, "", [f"Submitted by {submitters}: none of them may approve it."])
    return "\n".join(lines)


def _waiver_status(waiver: Mapping[str, Any]) -> Any:
    stored, effective = waiver.get("status"), waiver.get("effective_status")
    if effective and stored and effective != stored:
        return f"{effective} (was {stored})"
    return effective or stored


def waivers_page(answer: Mapping[str, Any], *, note: str | None = None) -> str:
    """A page of waivers, ordered by expiry, then how to get the next page."""
    waivers = items(answer, "items")
    lines = table(
        [
            "waiver",
            "system",
            "version",
            "status",
            "expires",
            "requested by",
            "decided by",
            "controls",
        ],
        [
            (
                first(w, "waiver_id", "value"),
                w.get("system"),
                w.get("version"),
                _waiver_status(w),
                w.get("expires_at"),
                w.get("requested_by"),
                w.get("decided_by"),
                _joined(w.get("controls")),
            )
            for w in waivers
        ],
        indent="",
    )
    if not waivers:
        lines = ["No waivers match."]
    footer = _next_page(answer, len(waivers), "waiver(s)")
    if note:
        footer.append(note)
    return "\n".join([*lines, "", *footer])


def _yes(value: Any) -> str | None:
    return None if value is None else ("yes" if value else "no")


def incidents(answer: Mapping[str, Any]) -> str:
    """Incidents newest first: status, severity, whether serious, and the summary."""
    found = items(answer, "incidents")
    if not found:
        return "No incidents match."
    headers = ["incident", "system", "status", "severity", "serious", "category", "opened by"]
    rows = [
        (
            first(i, "incident_id", "value"),
            i.get("system_id"),
            i.get("status"),
            i.get("severity"),
            _yes(i.get("serious")),
            i.get("category"),
            i.get("opened_by"),
            i.get("reported_at"),
            i.get("summary"),
        )
        for i in found
    ]
    return "\n".join(table([*headers, "reported at", "summary"], rows, indent=""))


def incident(answer: Mapping[str, Any]) -> str:
    """One incident's fields."""
    serious = _yes(answer.get("serious"))
    if answer.get("serious"):
        serious = "yes (EU AI Act Art. 3(49): report under Art. 73)"
    return "\n".join(
        [
            f"Incident {answer.get('incident_id', '?')} of {answer.get('system_id', '?')}: "
            f"{answer.get('status', '?')}",
            *pairs(
                [
                    ("severity", answer.get("severity")),
                    ("serious", serious),
                    ("category", answer.get("category")),
                    ("summary", answer.get("summary")),
                    ("version", answer.get("version")),
                    ("opened by", answer.get("opened_by")),
                    ("reported by", answer.get("reported_by")),
                    ("reported at", answer.get("reported_at")),
                    ("updated at", answer.get("updated_at")),
                ]
            ),
        ]
    )


def incident_step(answer: Mapping[str, Any]) -> str:
    """An incident lifecycle receipt in words."""
    text = (
        f"incident {answer.get('incident_id')} {answer.get('status')} for "
        f"{answer.get('system_id')} (event {answer.get('event_id')})"
    )
    if answer.get("duplicate"):
        text += " — already accepted before, not published again"
    return text


def evidence_page(answer: Mapping[str, Any], *, system: str) -> str:
    """A page of a system's ledger records in chain order."""
    records = items(answer, "items")
    lines = _records(records) if records else [f"No ledger records of {system} match."]
    lines = [line.removeprefix("  ") for line in lines]
    return "\n".join([*lines, "", *_next_page(answer, len(records), "record(s)")])


def verification(answer: Mapping[str, Any]) -> str:
    """A ledger verification: intact (how much, against which checkpoint), or every problem."""
    system = answer.get("system", "?")
    checkpoints = answer.get("checkpoints")
    checkpoints = checkpoints if isinstance(checkpoints, dict) else {}
    newest = checkpoints.get("newest") if isinstance(checkpoints.get("newest"), dict) else None
    verified = checkpoints.get("verified", 0)
    against = f"{verified} signed checkpoint(s) verified"
    if newest:
        against += (
            f", newest #{newest.get('id')} of {newest.get('created_at')} ({newest.get('key_id')})"
        )
    head = f"head sequence {answer.get('head_sequence')}, hash {answer.get('head_hash')}"
    if answer.get("ok"):
        return "\n".join(
            [
                f"Ledger of {system}: INTACT",
                f"  {answer.get('records')} record(s) recomputed; {head}",
                f"  {against}",
            ]
        )
    problems = items(answer, "problems")
    where = answer.get("broken_at")
    lines = [
        f"Ledger of {system}: FAILED" + (f" at sequence {where}" if where is not None else ""),
        f"  {answer.get('reason') or 'verification failed'}",
        f"  {answer.get('records')} record(s) intact before it; {head}",
        f"  {against}",
    ]
    section(
        lines,
        f"Problems ({len(problems)})",
        table(
            ["check", "sequence", "checkpoint", "detail"],
            [
                (p.get("kind"), p.get("sequence"), p.get("checkpoint_id"), p.get("detail"))
                for p in problems
            ],
        ),
    )
    return "\n".join(lines)


def probe_result(probe: Mapping[str, Any]) -> str:
    """`passed`, `failed`, or `pending` while deliveries are still being attempted."""
    ok = probe.get("ok")
    return "pending" if ok is None else ("passed" if ok else "failed")


def probes(found: Sequence[Mapping[str, Any]], *, system: str, started: bool = False) -> str:
    """Probe runs of a system: signal, result, latency, receivers and detail."""
    if not found:
        return f"No probe runs of {system} yet: run `aigov probe run {system}`."
    lines = table(
        ["probe", "signal", "started at", "result", "latency ms", "receivers", "detail"],
        [
            (
                p.get("probe_id"),
                p.get("signal"),
                p.get("started_at"),
                probe_result(p),
                p.get("latency_ms"),
                _joined(p.get("receivers")),
                p.get("detail"),
            )
            for p in found
        ],
        indent="",
    )
    if started and any(p.get("ok") is None for p in found):
        lines += ["", f"Deliveries are under way: `aigov probe show {system}` shows the outcome."]
    return "\n".join(lines)
