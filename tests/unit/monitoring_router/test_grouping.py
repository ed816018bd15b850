"""Grouping timers and Alertmanager's notification de-duplication (DedupStage.needsUpdate)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aigov_monitoring_router.grouping import LastNotification, group_key, needs_update, next_flush

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
REPEAT = timedelta(hours=4)


def entry(firing: set[str], resolved: set[str], ago: timedelta) -> LastNotification:
    """A notification log entry written `ago` before NOW."""
    return LastNotification(frozenset(firing), frozenset(resolved), NOW - ago)


# The cases of Alertmanager's TestDedupStageNeedsUpdate.
@pytest.mark.parametrize(
    ("last", "firing", "resolved", "send_resolved", "expected"),
    [
        (None, set(), set(), True, False),  # nothing ever notified, nothing firing
        (None, {"a"}, set(), True, True),  # first notification
        (None, set(), {"a"}, True, False),  # only resolved alerts, never told about them
        (entry({"a"}, set(), timedelta(minutes=1)), {"a", "b"}, set(), True, True),  # new alert
        (entry({"a", "b"}, set(), timedelta(minutes=1)), {"a"}, {"b"}, True, True),  # resolved
        (entry({"a", "b"}, set(), timedelta(minutes=1)), {"a"}, {"b"}, False, False),
        (entry({"a"}, set(), timedelta(minutes=1)), {"a"}, set(), True, False),  # unchanged
        (entry({"a"}, set(), REPEAT), {"a"}, set(), True, True),  # repeat interval passed
        (entry({"a"}, set(), REPEAT - timedelta(seconds=1)), {"a"}, set(), True, False),
        (entry({"a"}, set(), timedelta(minutes=1)), set(), {"a"}, False, True),  # all resolved
        (entry(set(), {"a"}, timedelta(minutes=1)), set(), {"a"}, True, False),  # told already
        (entry({"a", "b"}, set(), timedelta(minutes=1)), {"b"}, set(), True, False),  # subset
    ],
)
def test_needs_update(
    last: LastNotification | None,
    firing: set[str],
    resolved: set[str],
    send_resolved: bool,
    expected: bool,
) -> None:
    assert (
        needs_update(
            last,
            firing=firing,
            resolved=resolved,
            send_resolved=send_resolved,
            repeat_interval=REPEAT,
            now=NOW,
        )
        is expected
    )


class TestNextFlush:
    WAIT = timedelta(seconds=30)
    INTERVAL = timedelta(minutes=5)

    def test_new_group_waits_group_wait(self) -> None:
        due = next_flush(
            created=True,
            last_flush_at=None,
            now=NOW,
            group_wait=self.WAIT,
            group_interval=self.INTERVAL,
        )
        assert due == NOW + self.WAIT

    def test_existing_group_keeps_its_interval(self) -> None:
        last = NOW - timedelta(minutes=2)
        due = next_flush(
            created=False,
            last_flush_at=last,
            now=NOW,
            group_wait=self.WAIT,
            group_interval=self.INTERVAL,
        )
        assert due == last + self.INTERVAL

    def test_overdue_interval_flushes_now(self) -> None:
        due = next_flush(
            created=False,
            last_flush_at=NOW - timedelta(hours=1),
            now=NOW,
            group_wait=self.WAIT,
            group_interval=self.INTERVAL,
        )
        assert due == NOW


class TestGroupKey:
    def test_label_order_does_not_matter(self) -> None:
        assert group_key("0.1", {"a": "1", "b": "2"}) == group_key("0.1", {"b": "2", "a": "1"})

    def test_route_and_labels_both_count(self) -> None:
        keys = {
            group_key("0.1", {"a": "1"}),
            group_key("0.2", {"a": "1"}),
            group_key("0.1", {"a": "2"}),
            group_key("0.1", {}),
        }
        assert len(keys) == 4
