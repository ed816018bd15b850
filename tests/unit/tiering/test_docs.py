"""docs/controls.md is generated from the default pack and kept in sync."""

from __future__ import annotations

from pathlib import Path

from aigov_tiering.docs import PAGE, main, render
from tests.unit.tiering.helpers import REPO, default_pack


def test_committed_page_is_current() -> None:
    assert main(["--out", str(REPO / "docs"), "--check"]) == 0, (
        "docs/controls.md is stale: run `uv run python -m aigov_tiering.docs --out docs`"
    )


def test_check_fails_on_a_stale_page_and_write_fixes_it(tmp_path: Path) -> None:
    (tmp_path / PAGE).write_text("# old\n", "utf-8")
    assert main(["--out", str(tmp_path), "--check"]) == 1
    assert main(["--out", str(tmp_path)]) == 0
    assert main(["--out", str(tmp_path), "--check"]) == 0


def test_page_lists_every_control_with_its_mappings() -> None:
    page = render(default_pack())
    for control_id, compiled in default_pack().controls.items():
        [row] = [line for line in page.splitlines() if line.startswith(f"| `{control_id}` |")]
        for reference in compiled.control.frameworks.iso_42001:
            assert reference in row
