"""Grouping and de-duplication, as Alertmanager's aggregation groups and notification log.

A group is (route, values of the route's `group_by` labels). Its first flush waits
`group_wait`; later flushes come every `group_interval`; a flush notifies only when the
group changed since the last notification or `repeat_interval` has passed (`needs_update`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime, timedelta


def group_key(route_id: str, group_labels: Mapping[str, str]) -> str:
    """Stable id of a group: the route and its group labels, hashed to a fixed length."""
    canonical = json.dumps([route_id, sorted(group_labels.items())], separators=(",", ":"))
    return f"{route_id}:{hashlib.sha256(canonical.encode()).hexdigest()[:24]}"


@dataclass(frozen=True, slots=True)
class LastNotification:
    """What the receiver was last told about a group (Alertmanager's nflog entry)."""

    firing: frozenset[str]
    resolved: frozenset[str]
    at: datetime


def needs_update(
    last: LastNotification | None,
    *,
    firing: Set[str],
    resolved: Set[str],
    send_resolved: bool,
    repeat_interval: timedelta,
    now: datetime,
) -> bool:
    """Whether a flush must notify (Alertmanager's `DedupStage.needsUpdate`)."""
    if last is None:
        # Never notified: only firing alerts are news.
        return bool(firing)
    if not firing <= last.firing:
        return True
    if not firing:
        # Everything resolved: tell the receiver iff it was told something was firing.
        return bool(last.firing)
    if send_resolved and not resolved <= last.resolved:
        return True
    return last.at <= now - repeat_interval


def next_flush(
    *,
    created: bool,
    last_flush_at: datetime | None,
    now: datetime,
    group_wait: timedelta,
    group_interval: timedelta,
) -> datetime:
    """When a group that just received an alert flushes next.

    A new group waits `group_wait` so that alerts firing together arrive together; an
    existing one keeps its `group_interval` rhythm from its last flush.
    """
    if created or last_flush_at is None:
        return now + group_wait
    return max(now, last_flush_at + group_interval)
