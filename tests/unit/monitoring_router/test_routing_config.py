"""Loading and validating the routing configuration file."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from aigov_monitoring_router.durations import format_duration, parse_duration
from aigov_monitoring_router.router import CompiledConfig, Router
from aigov_monitoring_router.routing_config import (
    DEFAULT_CONFIG,
    ConfigError,
    ConfigPolicy,
    EmailConfig,
    RoutingConfig,
    expand_env,
    load_config,
    local_only,
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
        assert compiled.tree.receiver == "digest"

    def test_delivers_only_to_the_local_inbox(self) -> None:
        config = load_config(None, environ={})
        assert {r.name: r.kind for r in config.receivers} == {
            "null": None,
            "oncall": "inbox",
            "team": "inbox",
            "digest": "inbox",
            "owner": "inbox",
            "governance-lead": "inbox",
        }
        assert local_only(config)
        # No secret, URL or address to leak or to point at a third party.
        assert "${" not in DEFAULT_CONFIG.read_text(encoding="utf-8").replace(
            "${AIGOV_DASHBOARD_URL:-", ""
        )

    @pytest.mark.parametrize(
        ("labels", "receivers"),
        [
            # High tier, warning or worse: on-call is paged at once, and the team is told.
            (
                {"tier": "high", "severity": "warning", "signal": "drift"},
                ["oncall", "team"],
            ),
            (
                {"tier": "high", "severity": "critical", "signal": "drift"},
                ["oncall", "team"],
            ),
            ({"tier": "high", "severity": "info", "signal": "drift"}, ["team"]),
            # Medium: the owning team.
            ({"tier": "medium", "severity": "critical", "signal": "drift"}, ["team"]),
            # Low, and systems not yet tiered: the digest.
            ({"tier": "low", "severity": "critical", "signal": "drift"}, ["digest"]),
            ({"tier": "unknown", "severity": "warning", "signal": "bias"}, ["digest"]),
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


def _with_route_matcher(matcher: str) -> str:
    return MINIMAL.replace(
        "route: {receiver: hook}",
        f"route: {{receiver: hook, routes: [{{matchers: ['{matcher}'], receiver: hook}}]}}",
    )


class TestMatcherRegexes:
    """Route and inhibition regexes get the same RE2 checks and length cap as silences."""

    def test_route_regex_re2_refuses_names_the_route(self) -> None:
        with pytest.raises(ConfigError) as error:
            parse_config(_with_route_matcher(r'a=~"(x)\\1"'), origin="routing.yaml")
        assert "route.routes[0]" in str(error.value)
        assert "invalid regular expression" in str(error.value)

    def test_route_regex_too_long_is_a_startup_error(self) -> None:
        policy = ConfigPolicy(max_pattern_chars=16)
        with pytest.raises(ConfigError) as error:
            parse_config(_with_route_matcher('a=~"' + "b" * 17 + '"'), origin="t", policy=policy)
        assert "route.routes[0]" in str(error.value)
        assert "longer than 16 characters" in str(error.value)
        # The same file within the cap loads.
        parse_config(_with_route_matcher('a=~"' + "b" * 16 + '"'), origin="t", policy=policy)

    def test_inhibit_regex_too_long_names_the_rule(self) -> None:
        text = (
            MINIMAL
            + "inhibit_rules:\n  - {source_matchers: ['a=\"1\"'], target_matchers: ['b=~\"cccccccc\"']}\n"
        )
        with pytest.raises(ConfigError) as error:
            parse_config(text, origin="t", policy=ConfigPolicy(max_pattern_chars=4))
        assert "inhibit_rules[0]" in str(error.value)
        assert "longer than 4 characters" in str(error.value)

    def test_default_cap_applies_to_the_file(self) -> None:
        with pytest.raises(ConfigError, match="longer than 1024 characters"):
            parse_config(_with_route_matcher('a=~"' + "b" * 1025 + '"'), origin="t")


EXAMPLE = Path(__file__).parents[3] / "examples" / "routing" / "production.yaml"
REAL_ENVIRONMENT = {
    "AIGOV_DASHBOARD_URL": "https://aigov.example.com/dashboard",
    "AIGOV_PAGERDUTY_ROUTING_KEY": "R0ut1ngKeyFromPagerDutyXyz42",
    "AIGOV_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/s3cr3tT0k3nValue",
    "AIGOV_DIGEST_WEBHOOK_URL": "https://digest.example.com/aigov",
    "AIGOV_DIGEST_WEBHOOK_SECRET": "k3Jd9sPq0vLm2xWz8yTn4bRc",
    "AIGOV_SMTP_HOST": "smtp.example.com",
    "AIGOV_SMTP_USERNAME": "aigov-router",
    "AIGOV_SMTP_PASSWORD": "Vq7mL2pX9rT4wZ8k",
    "AIGOV_SMTP_FROM": "aigov-router@example.com",
    "AIGOV_GOVERNANCE_LEAD_EMAIL": "governance-lead@example.com",
}


def _tree(config: RoutingConfig) -> list[tuple[str, str, tuple[str, ...], bool]]:
    return [
        (route.name, route.receiver, tuple(str(m) for m in route.matchers), route.opens_incident)
        for route in CompiledConfig.build(config).tree.walk()
    ]


class TestProductionExample:
    """`examples/routing/production.yaml`: real integrations, every secret and URL from the
    environment with no default."""

    def test_loads_in_prod_with_real_values(self) -> None:
        config = load_config(
            EXAMPLE, environ=REAL_ENVIRONMENT, policy=ConfigPolicy(production=True)
        )
        assert {r.name: r.kind for r in config.receivers} == {
            "null": None,
            "oncall": "pagerduty",
            "team": "slack",
            "digest": "webhook",
            "owner": "email",
            "governance-lead": "email",
        }
        assert not local_only(config)
        email = config.receiver("owner").email
        assert email is not None
        assert (email.smtp_port, email.starttls) == (587, True)

    def test_has_the_shipped_tree(self) -> None:
        example = load_config(EXAMPLE, environ=REAL_ENVIRONMENT)
        assert _tree(example) == _tree(load_config(None, environ={}))
        assert example.incidents == load_config(None, environ={}).incidents

    @pytest.mark.parametrize("missing", sorted(REAL_ENVIRONMENT))
    def test_every_secret_and_url_must_be_set(self, missing: str) -> None:
        environ = {k: v for k, v in REAL_ENVIRONMENT.items() if k != missing}
        with pytest.raises(ConfigError, match=f"environment variable {missing} is not set"):
            load_config(EXAMPLE, environ=environ)

    def test_prod_refuses_placeholders_and_never_repeats_them(self) -> None:
        environ = {**REAL_ENVIRONMENT, "AIGOV_PAGERDUTY_ROUTING_KEY": "please-change-me-123"}
        with pytest.raises(ConfigError) as error:
            load_config(EXAMPLE, environ=environ, policy=ConfigPolicy(production=True))
        message = str(error.value)
        assert "(oncall).pagerduty.routing_key: looks like a placeholder" in message
        assert "please-change-me-123" not in message
        load_config(EXAMPLE, environ=environ, policy=ConfigPolicy(production=False))


class TestFileDefaultSecrets:
    """A secret a routing file gives a `${VAR:-default}` is as public as the file."""

    TEXT = MINIMAL.replace(
        '"0123456789abcdef"', '"${AIGOV_DIGEST_WEBHOOK_SECRET:-Kx81mQz0Lp3vRt7w}"'
    )

    def test_dev_accepts_it(self) -> None:
        parse_config(self.TEXT, origin="t", environ={}, policy=ConfigPolicy(production=False))

    def test_prod_refuses_it_naming_receiver_and_variable(self) -> None:
        with pytest.raises(ConfigError) as error:
            parse_config(self.TEXT, origin="t", environ={}, policy=ConfigPolicy(production=True))
        message = str(error.value)
        assert "receivers[0] (hook).webhook.secret" in message
        assert "AIGOV_DIGEST_WEBHOOK_SECRET" in message
        assert "Kx81mQz0Lp3vRt7w" not in message

    def test_prod_accepts_a_real_value(self) -> None:
        environ = {"AIGOV_DIGEST_WEBHOOK_SECRET": "k3Jd9sPq0vLm2xWz8yTn4bRc"}
        parse_config(self.TEXT, origin="t", environ=environ, policy=ConfigPolicy(production=True))

    def test_prod_refuses_placeholders_in_any_file(self) -> None:
        text = MINIMAL.replace("0123456789abcdef", "please-change-me-0123456789")
        with pytest.raises(ConfigError) as error:
            parse_config(text, origin="t", policy=ConfigPolicy(production=True))
        assert "receivers[0] (hook).webhook.secret" in str(error.value)
        parse_config(text, origin="t", policy=ConfigPolicy(production=False))

    def test_refused_on_reload_too(self, tmp_path: Path) -> None:
        path = tmp_path / "routing.yaml"
        path.write_text(MINIMAL, encoding="utf-8")
        router = Router.load(path, policy=ConfigPolicy(production=True))
        path.write_text(MINIMAL.replace("0123456789abcdef", "changeme-0123456789ab"), "utf-8")
        with pytest.raises(ConfigError, match="placeholder"):
            router.reload()
        assert router.config.receiver("hook").webhook is not None


class TestInboxReceiver:
    def test_bare_inbox_key_is_the_inbox_not_a_null_receiver(self) -> None:
        text = MINIMAL.replace(
            '    webhook: {url: "http://127.0.0.1:9/x", secret: "0123456789abcdef"}', "    inbox:"
        )
        hook = parse_config(text, origin="t").receiver("hook")
        assert hook.kind == "inbox"
        assert hook.integration is not None

    def test_inbox_has_no_network_settings(self) -> None:
        text = MINIMAL.replace(
            '    webhook: {url: "http://127.0.0.1:9/x", secret: "0123456789abcdef"}',
            "    inbox: {timeout: 5s}",
        )
        with pytest.raises(ConfigError, match=re.escape("receivers[0].inbox.timeout")):
            parse_config(text, origin="t")

    def test_one_integration_only(self) -> None:
        text = MINIMAL.replace(
            '    webhook: {url: "http://127.0.0.1:9/x", secret: "0123456789abcdef"}',
            '    webhook: {url: "http://127.0.0.1:9/x", secret: "0123456789abcdef"}\n    inbox: {}',
        )
        with pytest.raises(ConfigError, match="exactly one integration"):
            parse_config(text, origin="t")


class TestEmailDefaults:
    def test_starttls_is_on_unless_turned_off(self) -> None:
        config = EmailConfig.model_validate(
            {"to": ["a@example.com"], "from": "r@example.com", "smtp_host": "mail.example.com"}
        )
        assert config.starttls is True

    def test_production_example_uses_starttls(self) -> None:
        config = load_config(EXAMPLE, environ=REAL_ENVIRONMENT)
        email = config.receiver("owner").email
        assert email is not None
        assert email.starttls is True
        off = load_config(EXAMPLE, environ={**REAL_ENVIRONMENT, "AIGOV_SMTP_STARTTLS": "false"})
        email = off.receiver("owner").email
        assert email is not None
        assert email.starttls is False

    @pytest.mark.parametrize(
        ("field", "value"),
        [("from", "a@example.com, b@evil.example"), ("to", "ops@example.com\r\nBcc: x@evil")],
    )
    def test_static_addresses_must_be_single(self, field: str, value: str) -> None:
        data: dict[str, object] = {
            "to": ["a@example.com"],
            "from": "r@example.com",
            "smtp_host": "mail.example.com",
        }
        data[field] = [value] if field == "to" else value
        with pytest.raises(ValueError, match="single e-mail address"):
            EmailConfig.model_validate(data)
