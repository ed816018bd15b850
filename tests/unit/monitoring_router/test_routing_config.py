"""Loading and validating the routing configuration file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from aigov_monitoring_router.durations import format_duration, parse_duration
from aigov_monitoring_router.router import CompiledConfig
from aigov_monitoring_router.routing_config import (
    DEFAULT_CONFIG,
    ConfigError,
    expand_env,
    load_config,
    parse_config,
)

MINIMAL = """
route: {receiver: hook}
receivers:
  - name: hook
    webhook: {url: "http://127.0.0.1:9/x", secret: "0123456789abcdef"}
incidents:
  slas: [{acknowledge: 1h, contain: 2h}]
  escalation: [{to: owner, receiver: hook, after: 0s}]
  breach_receiver: hook
  article73: {escalate_to: hook}
"""


class TestDefaultConfig:
    def test_ships_valid(self) -> None:
        config = load_config(None, environ={})
        compiled = CompiledConfig.build(config)
        assert DEFAULT_CONFIG.is_file()
        assert compiled.tree.receiver == "digest-webhook"

    @pytest.mark.parametrize(
        ("labels", "receivers"),
        [
            # High tier, warning or worse: on-call is paged at once, and the team is told.
            (
                {"tier": "high", "severity": "warning", "signal": "drift"},
                ["oncall-pagerduty", "team-slack"],
            ),
            (
                {"tier": "high", "severity": "critical", "signal": "drift"},
                ["oncall-pagerduty", "team-slack"],
            ),
            ({"tier": "high", "severity": "info", "signal": "drift"}, ["team-slack"]),
            # Medium: the owning team.
            ({"tier": "medium", "severity": "critical", "signal": "drift"}, ["team-slack"]),
            # Low, and systems not yet tiered: the digest.
            ({"tier": "low", "severity": "critical", "signal": "drift"}, ["digest-webhook"]),
            ({"tier": "unknown", "severity": "warning", "signal": "bias"}, ["digest-webhook"]),
        ],
    )
    def test_per_tier_escalation_defaults(
        self, labels: dict[str, str], receivers: list[str]
    ) -> None:
        tree = CompiledConfig.build(load_config(None, environ={})).tree
        matched = tree.match({"system": "s", "team": "t", **labels})
        assert [r.receiver for r in matched if r.receiver != "null"] == receivers

    def test_high_tier_pages_without_waiting(self) -> None:
        tree = CompiledConfig.build(load_config(None, environ={})).tree
        page = tree.match({"tier": "high", "severity": "critical", "signal": "drift"})[0]
        assert page.group_wait == timedelta(0)

    def test_critical_safety_on_high_tier_opens_an_incident(self) -> None:
        tree = CompiledConfig.build(load_config(None, environ={})).tree
        routes = tree.match({"tier": "high", "severity": "critical", "signal": "safety"})
        assert any(r.opens_incident for r in routes)


class TestValidation:
    def test_minimal_is_valid(self) -> None:
        assert parse_config(MINIMAL, origin="t").route.receiver == "hook"

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (
                ("route: {receiver: hook}", "route: {receiver: nope}"),
                "route.receiver: unknown receiver 'nope'",
            ),
            (("route: {receiver: hook}", "route: {}"), "the root route needs a receiver"),
            (
                (
                    "route: {receiver: hook}",
                    "route: {receiver: hook, routes: [{matchers: ['a=~\"(\"'], receiver: hook}]}",
                ),
                "invalid regular expression",
            ),
            (
                ("route: {receiver: hook}", "route: {receiver: hook, routes: [{receiver: gone}]}"),
                "route.routes[0].receiver: unknown receiver 'gone'",
            ),
            (("after: 0s", "after: soon"), "not a duration"),
            (
                ('secret: "0123456789abcdef"', 'secret: "short"'),
                "receivers[0].webhook.secret: Value should have at least 16",
            ),
            (
                ("breach_receiver: hook", "breach_receiver: ghost"),
                "incidents.breach_receiver: unknown receiver",
            ),
            (
                ("route: {receiver: hook}", "route: {receiver: hook, colour: red}"),
                "route.colour: Extra inputs",
            ),
        ],
    )
    def test_errors_name_the_field(self, change: tuple[str, str], message: str) -> None:
        with pytest.raises(ConfigError) as error:
            parse_config(MINIMAL.replace(*change), origin="routing.yaml")
        assert message in str(error.value)
        assert str(error.value).startswith("routing.yaml")

    def test_not_yaml(self) -> None:
        with pytest.raises(ConfigError, match="not valid YAML"):
            parse_config("route: [", origin="t")

    def test_unreadable_file(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="cannot read"):
            load_config(tmp_path / "missing.yaml")


class TestEnvExpansion:
    def test_variables_and_defaults(self) -> None:
        doc = {"a": "${X}", "b": ["${Y:-fallback}"], "c": "pre-${X}-post"}
        assert expand_env(doc, {"X": "1"}) == {"a": "1", "b": ["fallback"], "c": "pre-1-post"}

    def test_missing_variable_names_the_path(self) -> None:
        with pytest.raises(ConfigError, match=r"receivers\[0\]\.url: environment variable NOPE"):
            expand_env({"receivers": [{"url": "${NOPE}"}]}, {})


class TestDurations:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [
            ("0s", 0),
            ("30s", 30),
            ("5m", 300),
            ("1h30m", 5400),
            ("2d", 172800),
            ("250ms", 0.25),
            (12, 12),
        ],
    )
    def test_parse(self, text: str | int, seconds: float) -> None:
        assert parse_duration(text) == timedelta(seconds=seconds)

    @pytest.mark.parametrize("text", ["", "5", "5x", "-5s", "m5", -1])
    def test_invalid(self, text: str | int) -> None:
        with pytest.raises(ValueError, match="duration"):
            parse_duration(text)

    def test_format_round_trips(self) -> None:
        for text in ("0s", "90s", "1h30m", "2d4h", "250ms"):
            assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)
