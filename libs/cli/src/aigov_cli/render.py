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
        *leading, last = row
        cells.append([*(_cell(v) for v in leading), _cell(last, limit=None)])
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return indent + "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return [line([h.upper() for h in headers]), *(line(r) for r in cells)]


def first(item: Mapping[str, Any], *keys: str) -> Any:
    """The value of the first of `keys` that `item` has (not None), else None."""
    for key in keys:
        if item.get(key) is not None:
            return item[key]
    return None


def items(answer: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """The list under `key` as mappings (bare values as `{"value": v}`; not a list: none)."""
    value = answer.get(key)
    if not isinstance(value, list):
        return []
    return [v if isinstance(v, dict) else {"value": v} for v in value]


def pairs(rows: Iterable[tuple[str, Any]]) -> list[str]:
    """`name  value` lines, aligned, for one object's fields (no header)."""
    return table(["", ""], rows)[1:]


def policy_text(answer: Mapping[str, Any]) -> str | None:
    """The policy an answer names, as `name version` (or whichever of them it has)."""
    policy = answer.get("policy")
    name = policy.get("name") if isinstance(policy, dict) else None
    version = answer.get("policy_version") or (
        policy.get("version") if isinstance(policy, dict) else None
    )
    if name and version:
        return f"{name} {version}"
    return version or name


def section(lines: list[str], title: str, body: list[str]) -> None:
    """Append a blank line, `title` and `body` to `lines`, unless `body` is empty."""
    if body:
        lines += ["", title, *body]


def bullets(values: Any) -> list[str]:
    """One `  - item` line per element of a list (nothing for anything else)."""
    return [f"  - {_cell(v, limit=None)}" for v in values] if isinstance(values, list) else []


def gate_decision(answer: Mapping[str, Any]) -> str:
    """The gate's answer: verdict, tier and policy, then what is missing, waived or pending."""
    decision = str(answer.get("decision", "?")).upper()
    lines = [
        f"Release {answer.get('system', '?')} {answer.get('version', '?')}: {decision}",
        *pairs(
            [
                ("tier", answer.get("tier") or "not tiered yet"),
                ("policy", policy_text(answer)),
                ("decided at", answer.get("decided_at")),
            ]
        ),
    ]
    missing = items(answer, "missing_controls")
    section(
        lines,
        f"Missing controls ({len(missing)})",
        table(
            ["control", "reason"],
            [(first(m, "control_id", "id", "value"), m.get("reason")) for m in missing],
        )
        if missing
        else [],
    )
    waived = items(answer, "waived_controls")
    section(
        lines,
        f"Waived controls ({len(waived)})",
        table(
            ["control", "waiver", "expires"],
            [
                (
                    first(w, "control_id", "id", "value"),
                    first(w, "waiver_id", "waiver"),
                    first(w, "expires_at", "expiry"),
                )
                for w in waived
            ],
        )
        if waived
        else [],
    )
    # Older evidence services do not send `pending_waivers`: then there is no section.
    section(
        lines,
        f"Waiver requests awaiting an approver ({len(items(answer, 'pending_waivers'))})",
        pending_waivers(answer),
    )
    pending = items(answer, "pending_material_changes")
    section(
        lines,
        f"Material changes awaiting approval ({len(pending)})",
        table(
            ["change", "kind", "reason"],
            [
                (first(p, "change_id", "id", "value"), p.get("kind"), p.get("reason"))
                for p in pending
            ],
        )
        if pending
        else [],
    )
    section(lines, "Reasons", bullets(answer.get("reasons")))
    section(lines, "Next steps", bullets(answer.get("next_steps")))
    footer = []
    evidence = answer.get("evidence_ids")
    if isinstance(evidence, list):
        footer.append(f"Evidence considered: {len(evidence)} event(s).")
    if answer.get("gate_event_id"):
        footer.append(f"Decision recorded as event {answer['gate_event_id']}.")
    section(lines, "", footer)
    return "\n".join(lines)


def pending_waivers(answer: Mapping[str, Any]) -> list[str]:
    """The answer's `pending_waivers` (requested, not decided yet) as a table; none: nothing."""
    waivers = items(answer, "pending_waivers")
    if not waivers:
        return []
    return table(
        ["waiver", "control", "requested by", "requested at", "expires"],
        [
            (
                first(w, "waiver_id", "value"),
                w.get("control_id"),
                w.get("requested_by"),
                w.get("requested_at"),
                w.get("expires_at"),
            )
            for w in waivers
        ],
    )


def simulation(answer: Mapping[str, Any]) -> str:
    """A tiering dry run: tier and why, what it requires, and the material change if asked."""
    tier = str(answer.get("tier", "?"))
    lines = [f"Tier: {tier}" + (f" (policy {policy_text(answer)})" if policy_text(answer) else "")]
    if answer.get("previous_tier"):
        lines.append(f"Previous tier: {answer['previous_tier']}")
    reasons = items(answer, "reasons")
    section(
        lines,
        "Why",
        table(
            ["rule", "reason"],
            [(first(r, "rule_id", "id", "value"), r.get("reason")) for r in reasons],
        )
        if reasons
        else ["  no rule fired: the policy's default tier"],
    )
    controls = items(answer, "required_controls")
    section(
        lines,
        f"Required controls ({len(controls)})",
        table(
            ["control", "title"],
            [(first(c, "control_id", "id", "value"), c.get("title")) for c in controls],
        )
        if controls
        else [],
    )
    minimums = items(answer, "evaluation_minimums")
    section(
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
    approvals = items(answer, "required_approvals")
    section(
        lines,
        "Required approvals",
        table(["role", "count"], [(a.get("role"), a.get("count")) for a in approvals])
        if approvals
        else [],
    )
    monitoring = items(answer, "monitoring")
    section(
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
        changes = items(change, "changes")
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
        section(lines, "Material change against --previous", body)
    section(lines, "Warnings", bullets(answer.get("warnings")))
    return "\n".join(lines)


def accepted(answer: Mapping[str, Any]) -> str:
    """An intake receipt: which event, for which system, and whether it was a retry."""
    short = short_type(str(answer.get("event_type") or "event"))
    text = f"accepted {short} for {answer.get('system_id', '?')} (event {answer.get('event_id')})"
    if answer.get("duplicate"):
        text += " — already accepted before, not published again"
    return text


def short_type(event_type: str) -> str:
    """`io.aigov.evaluation.completed.v1` as `evaluation.completed`."""
    return event_type.removeprefix("io.aigov.").rsplit(".v", 1)[0]
