"""Answers as text for people: aligned tables, one section per list, nothing hidden.

Field names are read defensively (`.get`, fallbacks): the services may add fields, and the
CLI shows what is there rather than failing on a shape it did not expect.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

MAX_CELL = 100


def to_json(value: Any) -> str:
    """`value` as indented JSON."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def _cell(value: Any, *, limit: int | None = MAX_CELL) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    text = " ".join(text.split())
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], *, indent: str = "  "
) -> list[str]:
    """Rows aligned under upper-case headers; only the last column (reasons) is never cut."""
    cells = []
    for row in rows:
        *first, last = row
        cells.append([*(_cell(v) for v in first), _cell(last, limit=None)])
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return indent + "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return [line([h.upper() for h in headers]), *(line(r) for r in cells)]


def _first(item: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if item.get(key) is not None:
            return item[key]
    return None


def _items(answer: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = answer.get(key)
    if not isinstance(value, list):
        return []
    return [v if isinstance(v, dict) else {"value": v} for v in value]


def _policy(answer: Mapping[str, Any]) -> str | None:
    policy = answer.get("policy")
    name = policy.get("name") if isinstance(policy, dict) else None
    version = answer.get("policy_version") or (
        policy.get("version") if isinstance(policy, dict) else None
    )
    if name and version:
        return f"{name} {version}"
    return version or name


def _section(lines: list[str], title: str, body: list[str]) -> None:
    if body:
        lines += ["", title, *body]


def _bullets(values: Any) -> list[str]:
    return [f"  - {_cell(v, limit=None)}" for v in values] if isinstance(values, list) else []


def gate_decision(answer: Mapping[str, Any]) -> str:
    """The gate's answer: verdict, tier and policy, then what is missing, waived or pending."""
    decision = str(answer.get("decision", "?")).upper()
    lines = [
        f"Release {answer.get('system', '?')} {answer.get('version', '?')}: {decision}",
        *table(
            ["", ""],
            [
                ("tier", answer.get("tier") or "not tiered yet"),
                ("policy", _policy(answer)),
                ("decided at", answer.get("decided_at")),
            ],
        )[1:],
    ]
    missing = _items(answer, "missing_controls")
    _section(
        lines,
        f"Missing controls ({len(missing)})",
        table(
            ["control", "reason"],
            [(_first(m, "control_id", "id", "value"), m.get("reason")) for m in missing],
        )
        if missing
        else [],
    )
    waived = _items(answer, "waived_controls")
    _section(
        lines,
        f"Waived controls ({len(waived)})",
        table(
            ["control", "waiver", "expires"],
            [
                (
                    _first(w, "control_id", "id", "value"),
                    _first(w, "waiver_id", "waiver"),
                    _first(w, "expires_at", "expiry"),
                )
                for w in waived
            ],
        )
        if waived
        else [],
    )
    pending = _items(answer, "pending_material_changes")
    _section(
        lines,
        f"Material changes awaiting approval ({len(pending)})",
        table(
            ["change", "kind", "reason"],
            [
                (_first(p, "change_id", "id", "value"), p.get("kind"), p.get("reason"))
                for p in pending
            ],
        )
        if pending
        else [],
    )
    _section(lines, "Reasons", _bullets(answer.get("reasons")))
    _section(lines, "Next steps", _bullets(answer.get("next_steps")))
    footer = []
    evidence = answer.get("evidence_ids")
    if isinstance(evidence, list):
        footer.append(f"Evidence considered: {len(evidence)} event(s).")
    if answer.get("gate_event_id"):
        footer.append(f"Decision recorded as event {answer['gate_event_id']}.")
    _section(lines, "", footer)
    return "\n".join(lines)


def simulation(answer: Mapping[str, Any]) -> str:
    """A tiering dry run: tier and why, what it requires, and the material change if asked."""
    tier = str(answer.get("tier", "?"))
    lines = [f"Tier: {tier}" + (f" (policy {_policy(answer)})" if _policy(answer) else "")]
    if answer.get("previous_tier"):
        lines.append(f"Previous tier: {answer['previous_tier']}")
    reasons = _items(answer, "reasons")
    _section(
        lines,
        "Why",
        table(
            ["rule", "reason"],
            [(_first(r, "rule_id", "id", "value"), r.get("reason")) for r in reasons],
        )
        if reasons
        else ["  no rule fired: the policy's default tier"],
    )
    controls = _items(answer, "required_controls")
    _section(
        lines,
        f"Required controls ({len(controls)})",
        table(
            ["control", "title"],
            [(_first(c, "control_id", "id", "value"), c.get("title")) for c in controls],
        )
        if controls
        else [],
    )
    minimums = _items(answer, "evaluation_minimums")
    _section(
        lines,
        "Evaluation minimums",
        table(
            ["metric", "must be"],
            [
                (m.get("metric"), f"{m.get('op', '')} {m.get('threshold', '')}".strip())
                for m in minimums
            ],
        )
        if minimums
        else [],
    )
    approvals = _items(answer, "required_approvals")
    _section(
        lines,
        "Required approvals",
        table(["role", "count"], [(a.get("role"), a.get("count")) for a in approvals])
        if approvals
        else [],
    )
    monitoring = _items(answer, "monitoring")
    _section(
        lines,
        "Monitoring",
        table(
            ["signal", "description"], [(m.get("signal"), m.get("description")) for m in monitoring]
        )
        if monitoring
        else [],
    )
    change = answer.get("material_change")
    if isinstance(change, dict):
        changes = _items(change, "changes")
        verdict = "yes — needs a new approval" if change.get("material") else "no"
        body = [f"  material: {verdict}"]
        if changes:
            body += table(
                ["field", "old", "new", "rule"],
                [(c.get("field"), c.get("old"), c.get("new"), c.get("rule")) for c in changes],
            )
        other = change.get("non_material_fields")
        if isinstance(other, list) and other:
            body.append(f"  also changed (not material): {', '.join(map(str, other))}")
        _section(lines, "Material change against --previous", body)
    _section(lines, "Warnings", _bullets(answer.get("warnings")))
    return "\n".join(lines)


def accepted(answer: Mapping[str, Any]) -> str:
    """An intake receipt: which event, for which system, and whether it was a retry."""
    event_type = str(answer.get("event_type") or "event")
    short = event_type.removeprefix("io.aigov.").rsplit(".v", 1)[0]
    text = f"accepted {short} for {answer.get('system_id', '?')} (event {answer.get('event_id')})"
    if answer.get("duplicate"):
        text += " — already accepted before, not published again"
    return text
