"""Prometheus-style durations (`30s`, `5m`, `1h30m`, `2d`) as used in Alertmanager configs."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, PlainSerializer

_UNITS: Final = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w))+$")


def parse_duration(value: Any) -> timedelta:
    """Parse `1h30m`, a number of seconds, or a timedelta; raise ValueError otherwise."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return timedelta(seconds=value)
    if not isinstance(value, str) or not _WHOLE.match(value.strip()):
        raise ValueError(f"not a duration: {value!r} (expected e.g. 30s, 5m, 4h, 1h30m, 2d)")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(value.strip()))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Render a timedelta back as a Prometheus duration (`90s` -> `1m30s`)."""
    millis = round(value.total_seconds() * 1000)
    if millis == 0:
        return "0s"
    parts: list[str] = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
"""A duration field that reads and writes the Prometheus notation."""
