"""The demo's request bodies: the public example files, with every date computed from now."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aigov_embedded.demo import WAIVER_VALIDITY, lineage_event, release_requests
from aigov_embedded.demo_monitoring import RaisedAlert, Reach, Shown, summary_lines
from tests.fixtures import REQUESTS

#: Clocks the demo must work at: today, a year ahead, ten years ahead.
AHEAD = [timedelta(0), timedelta(days=365), timedelta(days=3653)]


def timestamps(node: Any, path: str = "") -> Iterator[tuple[str, datetime]]:
    """Every string under `node` that reads as an ISO 8601 date-time, with its path."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from timestamps(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from timestamps(value, f"{path}[{index}]")
    elif isinstance(node, str) and len(node) >= 19 and node[4] == "-" and node[10] == "T":
        yield path, datetime.fromisoformat(node)


@pytest.mark.parametrize("ahead", AHEAD, ids=lambda ahead: f"+{ahead.days}d")
class TestDates:
    def test_every_date_the_release_sends_is_not_before_now(self, ahead: timedelta) -> None:
        now = datetime.now(UTC) + ahead
        found = [
            (f"{file}{path}", value)
            for _, file, _, body in release_requests(now)
            for path, value in timestamps(body)
        ]
        assert found, "the waiver request carries an expiry"
        assert [(where, value) for where, value in found if value < now] == []

    def test_the_waiver_expires_a_while_after_now(self, ahead: timedelta) -> None:
        now = datetime.now(UTC) + ahead
        [waiver] = [body for path, _, _, body in release_requests(now) if path == "/v1/waivers"]
        assert datetime.fromisoformat(waiver["expires_at"]) == now + WAIVER_VALIDITY

    def test_the_lineage_event_is_stamped_now(self, ahead: timedelta) -> None:
        now = datetime.now(UTC) + ahead
        event = lineage_event("code-assistant", "1.4.0", now)
        stamps = dict(timestamps(event))
        assert stamps == {".time": now, ".data.event_time": now}


class TestExampleFiles:
    def test_the_release_sends_the_public_files_with_only_dates_moved(self) -> None:
        now = datetime(2036, 1, 1, tzinfo=UTC)
        for _, file, _, body in release_requests(now):
            original = json.loads((REQUESTS / file).read_text("utf-8"))
            moved = {key for key in body if body[key] != original.get(key)}
            assert moved <= {"expires_at"}, file
            assert set(body) == set(original), file


class TestMonitoringSummary:
    """The monitoring lines say what reached whom, and a failing probe by its detail."""

    @staticmethod
    def alert(*reaches: Reach) -> RaisedAlert:
        return RaisedAlert(
            system="support-summarizer",
            tier="high",
            signal="prompt_injection",
            severity="critical",
            summary="s",
            labels={},
            reaches=reaches,
            opens_incident=False,
        )

    def test_a_real_receiver_points_at_the_delivery_log(self) -> None:
        pager = Reach("oncall", "high-page-oncall", timedelta(0), "pagerduty", delivered=False)
        lines = summary_lines(
            Shown(alerts=(self.alert(pager),), probes=(), incident=None),
            inbox="I",
            incidents="N",
            docs="D",
        )
        assert lines[1].endswith("→ oncall by pagerduty (see /v1/deliveries)")
        assert lines[-1] == "  look: I  N  D"

    def test_a_failing_probe_says_which_signal_and_why(self) -> None:
        probes = (
            {"system_id": "support-summarizer", "signal": "drift", "ok": True, "detail": None},
            {
                "system_id": "support-summarizer",
                "signal": "safety",
                "ok": False,
                "detail": "oncall: connection refused",
            },
        )
        lines = summary_lines(
            Shown(alerts=(self.alert(),), probes=probes, incident=None),
            inbox="I",
            incidents="N",
            docs="D",
        )
        assert "→ no receiver (dropped)" in lines[1]
        assert "  probe support-summarizer FAILED (safety: oncall: connection refused)" in lines
