"""The routing configuration file: its schema, `${ENV}` expansion, loading and validation.

The file is YAML shaped like Alertmanager's (`route`, `receivers`, `inhibit_rules`) plus
aigov's `incidents` (SLAs, escalation chain, EU AI Act Article 73) and `probe` sections.
Every error names the path of the offending field, so a bad reload is easy to fix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Final, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from aigov_monitoring_router.default_secrets import shipped_defaults, weakness
from aigov_monitoring_router.durations import Duration
from aigov_monitoring_router.email_addresses import single_address
from aigov_monitoring_router.label_regex import DEFAULT_MAX_PATTERN_CHARS
from aigov_monitoring_router.matchers import Matcher, parse_matcher

DEFAULT_CONFIG: Final = Path(__file__).parent / "config" / "default-routing.yaml"
_ENV_REF: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]


class ConfigError(ValueError):
    """The routing configuration is invalid; the message lists every problem."""


@dataclass(frozen=True, slots=True)
class ConfigPolicy:
    """What a routing file must satisfy beyond its schema (from the service's settings)."""

    max_pattern_chars: int = DEFAULT_MAX_PATTERN_CHARS
    """Longest regex a route or inhibition matcher may have."""
    production: bool = False
    """Outside dev: refuse the shipped default secrets and placeholder-looking ones."""


def _policy(info: ValidationInfo) -> ConfigPolicy:
    context = info.context
    policy = context.get("policy") if isinstance(context, dict) else None
    return policy if isinstance(policy, ConfigPolicy) else ConfigPolicy()


def _parse_all(matchers: list[str], policy: ConfigPolicy, field: str) -> tuple[Matcher, ...]:
    parsed = []
    for i, text in enumerate(matchers):
        try:
            parsed.append(parse_matcher(text, max_pattern_chars=policy.max_pattern_chars))
        except ValueError as exc:
            raise ValueError(f"{field}[{i}]: {exc}") from None
    return tuple(parsed)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetryConfig(_Strict):
    """Delivery retries: exponential backoff with full jitter, capped."""

    attempts: int = Field(default=5, ge=1, le=100)
    initial_backoff: Duration = timedelta(seconds=1)
    max_backoff: Duration = timedelta(minutes=5)


class _Integration(_Strict):
    send_resolved: bool = True


class _ReceiverBase(_Integration):
    """An integration that delivers over the network: bounded in time, retried."""

    timeout: Duration = timedelta(seconds=10)
    retry: RetryConfig = RetryConfig()


class InboxConfig(_Integration):
    """The built-in local inbox: notifications are stored in the router's `inbox` table.

    No network: the message is written in the transaction that records the attempt, so it
    cannot fail on its own and has no timeout or retries.
    """


class WebhookConfig(_ReceiverBase):
    """Generic webhook: Alertmanager-v4-shaped JSON, HMAC-SHA256 signed with `secret`."""

    url: str
    secret: SecretStr = Field(min_length=16)


class SlackConfig(_ReceiverBase):
    """Slack incoming webhook (Block Kit message)."""

    url: str
    channel: str | None = None


class PagerDutyConfig(_ReceiverBase):
    """PagerDuty Events API v2."""

    routing_key: SecretStr = Field(min_length=1)
    url: str = "https://events.pagerduty.com/v2/enqueue"


class EmailConfig(_ReceiverBase):
    """E-mail over SMTP; `to` may use `{owner}`, `{team}`, `{oncall}`, `{system}` placeholders."""

    to: Annotated[list[str], Field(min_length=1)]
    """One address per entry; entries with placeholders are checked once filled in."""
    sender: str = Field(alias="from")
    smtp_host: str
    smtp_port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = True
    """Upgrade the connection with STARTTLS (certificate verified) before sending."""
    username: str | None = None
    password: SecretStr | None = None

    @field_validator("sender")
    @classmethod
    def _single_sender(cls, value: str) -> str:
        single_address(value)
        return value

    @field_validator("to")
    @classmethod
    def _single_recipients(cls, value: list[str]) -> list[str]:
        for entry in value:
            if "{" not in entry:
                single_address(entry)
        return value


Integration = WebhookConfig | SlackConfig | PagerDutyConfig | EmailConfig | InboxConfig
INTEGRATIONS: Final = ("webhook", "slack", "pagerduty", "email", "inbox")
"""The integration keys a receiver may have (at most one)."""


class ReceiverConfig(_Strict):
    """A named receiver: exactly one integration, plus an optional fallback receiver."""

    name: Name
    webhook: WebhookConfig | None = None
    slack: SlackConfig | None = None
    pagerduty: PagerDutyConfig | None = None
    email: EmailConfig | None = None
    inbox: InboxConfig | None = None
    fallback: Name | None = None
    """Receiver that gets the notification once this one's retries are exhausted."""

    @field_validator("inbox", mode="before")
    @classmethod
    def _bare_inbox(cls, value: object) -> object:
        # `inbox:` with nothing after it is YAML null; it means the inbox, not "no integration".
        return {} if value is None else value

    @model_validator(mode="after")
    def _exactly_one_integration(self) -> Self:
        present = [k for k in INTEGRATIONS if getattr(self, k) is not None]
        if len(present) > 1:
            raise ValueError(f"a receiver has exactly one integration, got {present}")
        return self

    @property
    def integration(self) -> Integration | None:
        """The receiver's integration; None for a receiver that drops everything."""
        return self.webhook or self.slack or self.pagerduty or self.email or self.inbox

    @property
    def kind(self) -> str | None:
        """Which integration the receiver has (`webhook`, ..., `inbox`); None for "null"."""
        return next((k for k in INTEGRATIONS if getattr(self, k) is not None), None)

    @property
    def retry(self) -> RetryConfig:
        """How deliveries to it are retried (the inbox and "null" never fail on their own)."""
        integration = self.integration
        return integration.retry if isinstance(integration, _ReceiverBase) else RetryConfig()


class RouteConfig(_Strict):
    """A node of the routing tree (unset timing and grouping fields inherit from the parent)."""

    name: Name | None = None
    receiver: Name | None = None
    matchers: list[str] = Field(default_factory=list)
    group_by: list[str] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    continue_: bool = Field(default=False, alias="continue")
    opens_incident: bool = False
    routes: list[RouteConfig] = Field(default_factory=list)
    _parsed: tuple[Matcher, ...] = PrivateAttr(default=())

    def parsed_matchers(self) -> tuple[Matcher, ...]:
        """The matchers, parsed (compiled once, at validation)."""
        return self._parsed

    @model_validator(mode="after")
    def _matchers_parse(self, info: ValidationInfo) -> Self:
        self._parsed = _parse_all(self.matchers, _policy(info), "matchers")
        if self.group_by and "..." in self.group_by and len(self.group_by) > 1:
            raise ValueError("group_by: '...' (all labels) cannot be combined with other labels")
        return self


class InhibitRuleConfig(_Strict):
    """Alerts matching `target_matchers` are muted while one matching `source_matchers` fires."""

    source_matchers: Annotated[list[str], Field(min_length=1)]
    target_matchers: Annotated[list[str], Field(min_length=1)]
    equal: list[str] = Field(default_factory=list)
    _source: tuple[Matcher, ...] = PrivateAttr(default=())
    _target: tuple[Matcher, ...] = PrivateAttr(default=())

    @property
    def parsed_source(self) -> tuple[Matcher, ...]:
        """The source matchers, parsed."""
        return self._source

    @property
    def parsed_target(self) -> tuple[Matcher, ...]:
        """The target matchers, parsed."""
        return self._target

    @model_validator(mode="after")
    def _matchers_parse(self, info: ValidationInfo) -> Self:
        policy = _policy(info)
        self._source = _parse_all(self.source_matchers, policy, "source_matchers")
        self._target = _parse_all(self.target_matchers, policy, "target_matchers")
        return self


class SlaRule(_Strict):
    """Incident deadlines for the tiers and severities listed (an empty list means any)."""

    tiers: list[str] = Field(default_factory=list)
    severities: list[str] = Field(default_factory=list)
    acknowledge: Duration
    contain: Duration


class EscalationStep(_Strict):
    """One step of the escalation chain: who is told, after how long without acknowledgement."""

    to: Name
    receiver: Name
    after: Duration


class Article73Config(_Strict):
    """EU AI Act Art. 73: serious incidents of high-risk systems in the EU must be reported."""

    regions: list[str] = Field(default_factory=lambda: ["EU", "EEA"])
    tiers: list[str] = Field(default_factory=lambda: ["high"])
    report_within: Duration = timedelta(days=15)
    death_within: Duration = timedelta(days=10)
    widespread_within: Duration = timedelta(days=2)
    death_categories: list[str] = Field(default_factory=lambda: ["death"])
    """Incident categories meaning a person died (10-day deadline)."""
    widespread_categories: list[str] = Field(
        default_factory=lambda: ["widespread-infringement", "critical-infrastructure"]
    )
    """Incident categories meaning a widespread infringement or critical-infrastructure disruption (2 days)."""
    critical_infrastructure_use_cases: list[str] = Field(
        default_factory=lambda: ["critical-infrastructure"]
    )
    """Use-case categories / Annex III areas that make any serious incident a 2-day case."""
    escalate_to: Name
    """Receiver told when the report deadline is breached."""


class IncidentPolicy(_Strict):
    """How incidents are timed and escalated."""

    slas: list[SlaRule]
    escalation: Annotated[list[EscalationStep], Field(min_length=1, max_length=10)]
    article73: Article73Config
    breach_receiver: Name
    """Receiver told about every SLA breach (usually the governance lead)."""


class ProbeConfig(_Strict):
    """The monitoring-coverage probe: a synthetic alert through each high-risk system's route."""

    tiers: list[str] = Field(default_factory=lambda: ["high"])
    interval: Duration = timedelta(hours=24)
    labels: dict[str, str] = Field(default_factory=lambda: {"severity": "critical"})
    """Labels of the synthetic alert besides system/tier/team (e.g. the severity that pages)."""


class GlobalConfig(_Strict):
    """Settings shared by every receiver."""

    dashboard_url: str = "http://127.0.0.1:8083/dashboard"
    resolve_timeout: Duration = timedelta(minutes=5)


class RoutingConfig(_Strict):
    """The whole routing configuration file."""

    global_: GlobalConfig = Field(default=GlobalConfig(), alias="global")
    route: RouteConfig
    receivers: Annotated[list[ReceiverConfig], Field(min_length=1)]
    inhibit_rules: list[InhibitRuleConfig] = Field(default_factory=list)
    incidents: IncidentPolicy
    probe: ProbeConfig = ProbeConfig()

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        names = [r.name for r in self.receivers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"receivers: duplicate names {duplicates}")
        known = set(names)
        problems: list[str] = []
        if self.route.receiver is None:
            problems.append("route.receiver: the root route needs a receiver")
        if self.route.matchers:
            problems.append("route.matchers: the root route matches every alert; remove them")
        _check_route_receivers(self.route, "route", known, problems)
        for i, receiver in enumerate(self.receivers):
            if receiver.fallback is not None and receiver.fallback not in known:
                problems.append(f"receivers[{i}].fallback: unknown receiver {receiver.fallback!r}")
            if receiver.fallback == receiver.name:
                problems.append(f"receivers[{i}].fallback: a receiver cannot be its own fallback")
        for i, step in enumerate(self.incidents.escalation):
            if step.receiver not in known:
                problems.append(
                    f"incidents.escalation[{i}].receiver: unknown receiver {step.receiver!r}"
                )
        for field, name in (
            ("incidents.breach_receiver", self.incidents.breach_receiver),
            ("incidents.article73.escalate_to", self.incidents.article73.escalate_to),
        ):
            if name not in known:
                problems.append(f"{field}: unknown receiver {name!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def receiver(self, name: str) -> ReceiverConfig:
        """The receiver called `name` (KeyError if there is none)."""
        for receiver in self.receivers:
            if receiver.name == name:
                return receiver
        raise KeyError(name)


def _check_route_receivers(
    route: RouteConfig, path: str, known: set[str], problems: list[str]
) -> None:
    if route.receiver is not None and route.receiver not in known:
        problems.append(f"{path}.receiver: unknown receiver {route.receiver!r}")
    for i, child in enumerate(route.routes):
        _check_route_receivers(child, f"{path}.routes[{i}]", known, problems)


def expand_env(value: Any, environ: Mapping[str, str], path: str = "") -> Any:
    """Replace `${VAR}` / `${VAR:-default}` in every string of a parsed YAML document."""
    if isinstance(value, str):

        def substitute(found: re.Match[str]) -> str:
            name, default = found.group(1), found.group(2)
            if name in environ:
                return environ[name]
            if default is not None:
                return default
            raise ConfigError(f"{path or '<root>'}: environment variable {name} is not set")

        return _ENV_REF.sub(substitute, value)
    if isinstance(value, list):
        return [expand_env(v, environ, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {
            k: expand_env(v, environ, f"{path}.{k}" if path else str(k)) for k, v in value.items()
        }
    return value


def parse_config(
    text: str,
    *,
    origin: str,
    environ: Mapping[str, str] | None = None,
    policy: ConfigPolicy | None = None,
) -> RoutingConfig:
    """Parse and validate a routing configuration; ConfigError listing every problem."""
    policy = policy or ConfigPolicy()
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{origin}: expected a mapping at the top level")
    document = expand_env(document, os.environ if environ is None else environ)
    try:
        config = RoutingConfig.model_validate(document, context={"policy": policy})
    except ValidationError as exc:
        lines = [f"  {_path(error['loc'])}: {error['msg']}" for error in exc.errors()]
        raise ConfigError(
            f"{origin}: invalid routing configuration:\n" + "\n".join(lines)
        ) from None
    if policy.production:
        refused = weak_secrets(config, defaults=shipped_defaults(text))
        if refused:
            raise ConfigError(
                f"{origin}: secrets refused outside env=dev:\n"
                + "\n".join(f"  {line}" for line in refused)
            )
    return config


def weak_secrets(config: RoutingConfig, *, defaults: Mapping[str, str]) -> list[str]:
    """Each receiver secret that is a default of the file or a placeholder (path and reason).

    `defaults` maps the `${VAR:-default}` values the file gives credential variables to the
    variable: a secret written into a routing file is public wherever the file is.
    """
    problems: list[str] = []
    for i, receiver in enumerate(config.receivers):
        secrets: list[tuple[str, str | None]] = []
        if receiver.webhook:
            secrets.append(("webhook.secret", receiver.webhook.secret.get_secret_value()))
        if receiver.pagerduty:
            secrets.append(
                ("pagerduty.routing_key", receiver.pagerduty.routing_key.get_secret_value())
            )
        if receiver.slack:
            secrets.append(("slack.url", receiver.slack.url))
        if receiver.email and receiver.email.password:
            secrets.append(("email.password", receiver.email.password.get_secret_value()))
        for field, value in secrets:
            reason = weakness(value, defaults) if value else None
            if reason:
                problems.append(f"receivers[{i}] ({receiver.name}).{field}: {reason}")
    return problems


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<root>"


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    policy: ConfigPolicy | None = None,
) -> RoutingConfig:
    """Read the routing configuration at `path` (the shipped default when None)."""
    path = path or DEFAULT_CONFIG
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the routing configuration: {exc.strerror}"
        ) from None
    return parse_config(text, origin=str(path), environ=environ, policy=policy)


def local_only(config: RoutingConfig) -> bool:
    """Whether every receiver that delivers at all is the local inbox (nothing leaves the host)."""
    kinds = {receiver.kind for receiver in config.receivers} - {None}
    return kinds <= {"inbox"}


LOCAL_ONLY_WARNING: Final = (
    "the routing configuration in force delivers only to the local inbox: notifications stay "
    "on this machine (GET /v1/inbox) and reach nobody; point AIGOV_ROUTING_CONFIG at a routing "
    "file with real receivers (PagerDuty, Slack, webhook, e-mail; see "
    "examples/routing/production.yaml and docs/services/monitoring-router.md)"
)
"""Logged at startup outside env=dev when `local_only` holds."""
