"""Inhibition rules and silences, table-driven after Alertmanager's inhibit_test.go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aigov_monitoring_router.inhibition import InhibitRule, SilenceWindow, silenced_by
from aigov_monitoring_router.matchers import parse_matcher
from aigov_monitoring_router.routing_config import InhibitRuleConfig

CRITICAL_MUTES_WARNING = InhibitRule.from_config(
    InhibitRuleConfig(
        source_matchers=['severity="critical"'],
        target_matchers=['severity="warning"'],
        equal=["system", "signal"],
    )
)
INCIDENT_MUTES_DRIFT = InhibitRule.from_config(
    InhibitRuleConfig(
        source_matchers=['aigov_incident="open"'],
        target_matchers=['signal="drift"'],
        equal=["system"],
    )
)


@pytest.mark.parametrize(
    ("rule", "target", "sources", "expected"),
    [
        (
            CRITICAL_MUTES_WARNING,
            {"system": "s", "signal": "drift", "severity": "warning"},
            [{"system": "s", "signal": "drift", "severity": "critical"}],
            True,
        ),
        (  # `equal` label differs
            CRITICAL_MUTES_WARNING,
            {"system": "s", "signal": "drift", "severity": "warning"},
            [{"system": "t", "signal": "drift", "severity": "critical"}],
            False,
        ),
        (  # target does not match the target matchers
            CRITICAL_MUTES_WARNING,
            {"system": "s", "signal": "drift", "severity": "info"},
            [{"system": "s", "signal": "drift", "severity": "critical"}],
            False,
        ),
        (  # no source firing
            CRITICAL_MUTES_WARNING,
            {"system": "s", "signal": "drift", "severity": "warning"},
            [],
            False,
        ),
        (  # an `equal` label missing on both sides counts as equal
            CRITICAL_MUTES_WARNING,
            {"system": "s", "severity": "warning"},
            [{"system": "s", "severity": "critical"}],
            True,
        ),
        (  # ... but missing on one side only does not
            CRITICAL_MUTES_WARNING,
            {"system": "s", "severity": "warning"},
            [{"system": "s", "signal": "drift", "severity": "critical"}],
            False,
        ),
        (
            INCIDENT_MUTES_DRIFT,
            {"system": "s", "signal": "drift", "severity": "critical"},
            [{"aigov_incident": "open", "system": "s"}],
            True,
        ),
        (
            INCIDENT_MUTES_DRIFT,
            {"system": "s", "signal": "safety", "severity": "critical"},
            [{"aigov_incident": "open", "system": "s"}],
            False,
        ),
    ],
)
def test_inhibits(
    rule: InhibitRule, target: dict[str, str], sources: list[dict[str, str]], expected: bool
) -> None:
    assert rule.inhibits(target, sources) is expected


def test_an_alert_never_inhibits_itself() -> None:
    rule = InhibitRule.from_config(
        InhibitRuleConfig(
            source_matchers=['signal="drift"'], target_matchers=['signal="drift"'], equal=["system"]
        )
    )
    alert = {"system": "s", "signal": "drift"}
    assert rule.inhibits(alert, [dict(alert)]) is False
    assert rule.inhibits(alert, [dict(alert), {"system": "s", "signal": "drift", "x": "1"}])


class TestSilences:
    START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    WINDOW = SilenceWindow(
        id="s1",
        matchers=(parse_matcher('system="s"'), parse_matcher('signal=~"drift|bias"')),
        starts_at=START,
        ends_at=START + timedelta(hours=1),
    )

    @pytest.mark.parametrize(
        ("labels", "offset", "expected"),
        [
            ({"system": "s", "signal": "drift"}, timedelta(minutes=5), ["s1"]),
            ({"system": "s", "signal": "drift"}, timedelta(0), ["s1"]),  # start inclusive
            ({"system": "s", "signal": "drift"}, timedelta(hours=1), []),  # end exclusive
            ({"system": "s", "signal": "drift"}, -timedelta(seconds=1), []),  # not started
            ({"system": "s", "signal": "safety"}, timedelta(minutes=5), []),
            ({"system": "t", "signal": "drift"}, timedelta(minutes=5), []),
        ],
    )
    def test_window_and_matchers(
        self, labels: dict[str, str], offset: timedelta, expected: list[str]
    ) -> None:
        assert silenced_by([self.WINDOW], labels, self.START + offset) == expected
