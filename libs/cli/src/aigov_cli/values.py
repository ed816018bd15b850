"""Small command-line value types: durations (`60s`, `2m`), `key=value` pairs, expiry times."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import click

_DURATION: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """Seconds in `text` (`90`, `90s`, `2m`, `1.5h`, `30d`), or ValueError."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration: use e.g. 60s, 5m, 1h or 30d")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]


class Duration(click.ParamType[float]):
    """A click parameter holding a duration in seconds."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        """Seconds, from a number or a `60s`-style text."""
        if isinstance(value, int | float):
            return float(value)
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def parse_expiry(text: str, *, now: datetime | None = None) -> str:
    """An ISO 8601 time with offset, from itself or from a duration ahead (`30d`)."""
    try:
        seconds = parse_duration(text)
    except ValueError:
        pass
    else:
        return ((now or datetime.now(UTC)) + timedelta(seconds=seconds)).isoformat()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a time (2026-12-26T00:00:00Z) nor a duration (30d)"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: add Z or an offset such as +01:00")
    return moment.isoformat()


def parse_pair(text: str, *, what: str) -> tuple[str, str]:
    """`key=value` split at the first `=`, or ValueError naming `what` was expected."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"{text!r}: expected {what}")
    return key.strip(), value
