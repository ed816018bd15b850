"""Charts drawn on the server as inline SVG: no chart library, no script, nothing fetched.

A chart is a trend over consecutive windows: bars for counts, a line with points for rates
and scores. A window without a value (a rate over nothing) is left as a gap and labelled
"n/a", never drawn as zero. Every label is escaped; the SVG carries a `<title>` and an
`aria-label` so a screen reader announces it, and the page shows the numbers in a table too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from markupsafe import Markup, escape

WIDTH: Final = 560
HEIGHT: Final = 200
_LEFT: Final = 44
_RIGHT: Final = 12
_TOP: Final = 14
_BOTTOM: Final = 34
_INK: Final = "#1d4e89"
_GRID: Final = "#d9dee4"


@dataclass(frozen=True, slots=True)
class Point:
    """One window's value (None: nothing to measure in that window)."""

    label: str
    value: float | None


def _fmt(value: float, unit: Literal["rate", "count", "score", "days"]) -> str:
    if unit == "rate":
        return f"{value * 100:.0f}%"
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:.1f}"


def _ceiling(values: Sequence[float], unit: str) -> float:
    if unit == "rate":
        return 1.0
    if unit == "score":
        return 5.0
    top = max(values, default=0.0)
    if unit == "count":
        # An even whole number, so the middle grid line is a whole count too.
        whole = max(2, math.ceil(top * 1.15))
        return float(whole + whole % 2)
    return max(1.0, top * 1.15)


def trend(
    title: str,
    points: Sequence[Point],
    *,
    unit: Literal["rate", "count", "score", "days"],
    kind: Literal["line", "bars"] = "line",
) -> Markup:
    """An SVG chart of `points`, oldest first."""
    values = [p.value for p in points if p.value is not None]
    ceiling = _ceiling(values, unit)
    inner_w = WIDTH - _LEFT - _RIGHT
    inner_h = HEIGHT - _TOP - _BOTTOM
    step = inner_w / max(1, len(points))

    def x(index: int) -> float:
        return _LEFT + step * index + step / 2

    def y(value: float) -> float:
        return _TOP + inner_h * (1 - min(value, ceiling) / ceiling)

    parts: list[str] = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for fraction in (0.0, 0.5, 1.0):
        level = ceiling * fraction
        parts.append(
            f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
            f'stroke="{_GRID}" stroke-width="1"/>'
            f'<text x="{_LEFT - 6}" y="{y(level) + 4:.1f}" text-anchor="end">'
            f"{escape(_fmt(level, unit))}</text>"
        )
    previous: tuple[float, float] | None = None
    for index, point in enumerate(points):
        cx = x(index)
        parts.append(
            f'<text x="{cx:.1f}" y="{HEIGHT - 12}" text-anchor="middle">{escape(point.label)}</text>'
        )
        if point.value is None:
            parts.append(
                f'<text x="{cx:.1f}" y="{_TOP + inner_h / 2:.1f}" text-anchor="middle">n/a</text>'
            )
            previous = None
            continue
        cy = y(point.value)
        label = escape(_fmt(point.value, unit))
        if kind == "bars":
            width = step * 0.55
            parts.append(
                f'<rect x="{cx - width / 2:.1f}" y="{cy:.1f}" width="{width:.1f}" '
                f'height="{_TOP + inner_h - cy:.1f}" fill="{_INK}" rx="2"/>'
            )
        else:
            if previous is not None:
                parts.append(
                    f'<line x1="{previous[0]:.1f}" y1="{previous[1]:.1f}" x2="{cx:.1f}" '
                    f'y2="{cy:.1f}" stroke="{_INK}" stroke-width="2"/>'
                )
            parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{_INK}"/>')
            previous = (cx, cy)
        parts.append(
            f'<text class="value" x="{cx:.1f}" y="{cy - 7:.1f}" text-anchor="middle">{label}</text>'
        )
    parts.append("</svg>")
    # Safe markup: every interpolated text was escaped above.
    return Markup("".join(parts))
