"""Generate `docs/controls.md` (the control library and its framework mappings); `--check` finds it stale.

Usage: `python -m aigov_tiering.docs [--check] [--out docs] [--policy-dir DIR]`, from the repo root.
The output is deterministic, so a test (and CI) can compare it byte for byte with the
committed file and fail when the default pack changed without the page being regenerated.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from aigov_events.catalog.enums import EvidenceKind
from aigov_tiering.library import Framework, control_library
from aigov_tiering.policy import PolicyPack, load_pack
from aigov_tiering.policy.location import default_policy_dir
from aigov_tiering.policy.pack import SEVERITY
from aigov_tiering.policy.schema import EvidenceRule

PAGE: Final = "controls.md"

_FRAMEWORK_TITLES: Final = {
    Framework.EU_AI_ACT: "EU AI Act (Regulation (EU) 2024/1689), by article",
    Framework.NIST_AI_RMF: "NIST AI RMF 1.0, by subcategory",
    Framework.ISO_42001: "ISO/IEC 42001:2023 Annex A, by control",
}


def render(pack: PolicyPack) -> str:
    """The Markdown page for `pack`'s control library."""
    lines = [
        "# Control library",
        "",
        f"Generated from the `{pack.ref.name}` policy pack, version `{pack.version_label}`, by",
        "`python -m aigov_tiering.docs --out docs`; a test fails when it is stale. Do not edit by hand.",
        "",
        f"{len(pack.controls)} controls. *Tiers* lists the tiers that require a control (when its",
        "condition holds for the system); *Evidence* is what satisfies it, checked by the evidence",
        "service from the `tier.assigned` decision alone.",
        "",
        "| Control | Title | Evidence | Tiers | NIST AI RMF | EU AI Act | ISO/IEC 42001 |",
        "|---|---|---|---|---|---|---|",
    ]
    for compiled in pack.controls.values():
        control = compiled.control
        tiers = [t.value for t in SEVERITY if control.id in pack.tiers[t].controls]
        condition = f" (when `{control.applies_when}`)" if control.applies_when else ""
        refs = control.frameworks
        lines.append(
            "| "
            + " | ".join(
                [
                    f"`{control.id}`",
                    _cell(control.title),
                    "; ".join(_evidence(e) for e in control.evidence),
                    _cell(", ".join(tiers) + condition) if tiers else "—",
                    ", ".join(refs.nist_ai_rmf),
                    ", ".join(f"Art. {a}" for a in refs.eu_ai_act),
                    ", ".join(refs.iso_42001),
                ]
            )
            + " |"
        )
    for framework in Framework:
        library = control_library(pack, framework)
        lines += [
            "",
            f"## {_FRAMEWORK_TITLES[framework]}",
            "",
            "| Reference | Controls |",
            "|---|---|",
        ]
        for entry in library.by_reference or []:
            controls = ", ".join(f"`{c}`" for c in entry.controls)
            lines.append(f"| {entry.reference} | {controls} |")
    return "\n".join(lines) + "\n"


def _evidence(rule: EvidenceRule) -> str:
    if rule.kind is EvidenceKind.ARTIFACT:
        sections = ", ".join(rule.required_sections)
        return f"artifact `{rule.artifact_kind}`" + (f" ({sections})" if sections else "")
    if rule.kind is EvidenceKind.EVALUATION:
        return (
            "evaluation " + ", ".join(f"`{m}`" for m in rule.metrics) + " at the tier's thresholds"
        )
    if rule.kind is EvidenceKind.APPROVAL:
        return "approvals by the tier's roles"
    if rule.kind is EvidenceKind.MONITORING:
        return "verified monitoring of " + ", ".join(f"`{s}`" for s in rule.signals)
    return "lineage record"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with --check, verify) `<out>/controls.md`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--policy-dir", type=Path, default=None)
    parser.add_argument("--check", action="store_true", help="fail if the page is stale")
    args = parser.parse_args(argv)
    page = args.out / PAGE
    expected = render(load_pack(args.policy_dir or default_policy_dir()))
    current = page.read_text("utf-8") if page.is_file() else None
    if args.check:
        if current != expected:
            sys.stderr.write(
                f"stale: {page} (run: python -m aigov_tiering.docs --out {args.out})\n"
            )
            return 1
        return 0
    if current != expected:
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(expected, "utf-8")
        sys.stdout.write(f"wrote: {page}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
