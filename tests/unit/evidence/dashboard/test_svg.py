"""Server-side charts: gaps for windows with nothing to measure, escaped labels, sane axes."""

from __future__ import annotations

import re

from aigov_evidence.dashboard.svg import Point, trend


def test_a_window_without_a_value_is_a_gap_not_zero() -> None:
    chart = str(
        trend("Coverage", [Point("a", 0.5), Point("b", None), Point("c", 1.0)], unit="rate")
    )
    assert chart.count("<circle") == 2
    assert "n/a" in chart
    # No line bridges the gap: each segment needs two neighbouring values.
    assert '<line x1="' in chart
    assert len(re.findall(r'stroke="#1d4e89"', chart)) == 0
    assert ">50%<" in chart
    assert ">100%<" in chart


def test_bars_for_counts_with_whole_grid_lines() -> None:
    chart = str(trend("Incidents", [Point("w1", 0), Point("w2", 1)], unit="count", kind="bars"))
    assert chart.count("<rect") == 2
    # Ceiling 2 for a top value of 1: grid labels 0, 1 and 2.
    labels = re.findall(r'text-anchor="end">([^<]+)</text>', chart)
    assert labels == ["0", "1", "2"]


def test_labels_and_titles_are_escaped() -> None:
    chart = str(trend("<b>t</b>", [Point("<script>", 1.0)], unit="score"))
    assert "<script>" not in chart
    assert "&lt;script&gt;" in chart
    assert "<title>&lt;b&gt;t&lt;/b&gt;</title>" in chart
