"""Alertmanager and Grafana alert notifications, mapped to `alert.raised` / `alert.resolved`.

Both tools post one notification per alert group: a list of alerts plus what they share.
Grafana's unified alerting (Grafana 8+) speaks Alertmanager's webhook format with a few
extra fields (`orgId`, `state`, per-alert `values`, dashboard and panel URLs).

| in the notification                         | aigov                                       |
|---------------------------------------------|---------------------------------------------|
| alert with `status: firing`                 | alert.raised, time = `startsAt`             |
| alert with `status: resolved`               | alert.resolved, time = `endsAt` (required)  |
| alert without `status`                      | the group's `status`                        |
| `truncatedAlerts: n > 0`                    | ignored entry: the sender left `n` alerts out |
| Grafana "Test" notification (`TestAlert`)   | ignored (202): nothing happened             |
| Grafana legacy format (`ruleName`, `evalMatches`) | 422: needs unified alerting           |

Fields of each alert event:

- `fingerprint`: the alert's fingerprint; when absent (some relays drop it) it is computed
  exactly as Alertmanager does (FNV-1a 64 over the sorted label set).
- `alert_id`: `<fingerprint>-<startsAt in UTC>`, one firing of the alert series, shared by its
  raised and resolved events.
- `signal`: label `signal` (drift, safety, prompt_injection, ...), else the `alertname` as a
  slug (`HighMemoryUsage` -> `high_memory_usage`), else `other`.
- `severity`: label `severity` through `SEVERITY_WORDS`; `warning` when absent or unknown.
- `summary`: annotation `summary`, `description` or `message`, else the `alertname`.
- `labels`: the alert's labels (those the catalog can carry: label-like keys, at most 64).
- `version`: label `ai_release`. `value`: Grafana's only value (or the one named by the
  `value_ref` annotation), else annotation `value`. `threshold`: annotation `threshold`.
- `source_url`: the first http(s) URL of panel, dashboard, generator and runbook URLs.

Event ids hash (fingerprint, status, startsAt[, endsAt]), so Alertmanager's repeat
notifications of a still-firing alert, and the copies HA peers send, are duplicates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from aigov_events.catalog import AlertRaised, AlertResolved, AlertSeverity
from aigov_intake.adapters import (
    RELEASE_KEY,
    SYSTEM_KEY,
    AwareTimestamp,
    Draft,
    IgnoredItem,
    Outcome,
    PayloadRejected,
    build,
    clip,
    field_error,
    parse,
    parse_timestamp,
    slugify,
    stable_id,
    utc_text,
)

ALERTMANAGER_SOURCE: Final = "urn:aigov:webhook:alertmanager"
GRAFANA_SOURCE: Final = "urn:aigov:webhook:grafana"
LOOKED_IN: Final = f"the label `{SYSTEM_KEY}` on the alerts (alert labels or commonLabels)"

_SEVERITY_SPELLINGS: Final[Mapping[AlertSeverity, tuple[str, ...]]] = {
    AlertSeverity.CRITICAL: (
        *("critical", "crit", "fatal", "emergency", "emerg", "alert", "page", "disaster"),
        *("p1", "sev1", "sev-1"),
    ),
    AlertSeverity.HIGH: ("high", "error", "err", "major", "severe", "p2", "sev2", "sev-2"),
    AlertSeverity.WARNING: ("warning", "warn", "minor", "medium", "average", "p3", "sev3", "sev-3"),
    AlertSeverity.INFO: (
        *("info", "informational", "information", "notice", "low", "debug", "none", "ok"),
        *("p4", "p5", "sev4", "sev5", "sev-4", "sev-5"),
    ),
}
#: Severity label values as tools and teams spell them, mapped to the catalog's severities.
SEVERITY_WORDS: Final[Mapping[str, AlertSeverity]] = {
    word: severity for severity, words in _SEVERITY_SPELLINGS.items() for word in words
}
#: An alert nobody classified needs a look, but does not page: the router's default route.
DEFAULT_SEVERITY: Final = AlertSeverity.WARNING

#: Keys of the legacy (pre-8) Grafana alert notification, which has no `alerts` list.
LEGACY_GRAFANA_KEYS: Final = frozenset({"ruleName", "ruleId", "ruleUrl", "evalMatches"})
#: The labels of the alert Grafana sends when someone presses "Test" on a contact point.
GRAFANA_TEST_LABELS: Final[Mapping[str, str]] = {"alertname": "TestAlert", "instance": "Grafana"}

_FINGERPRINT: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_LABEL_KEY: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]{0,127}$")
_WEB_URL: Final = re.compile(r"^https?://[^\s/?#]+\S*$")
_MAX_LABELS: Final = 64
_MAX_LABEL_VALUE: Final = 1024
_MAX_SUMMARY: Final = 1000


# --- the public formats ------------------------------------------------------------------------


class _Lenient(BaseModel):
    """Tools add fields over time; unknown ones are kept, not refused."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


def _end_or_none(value: Any) -> datetime | None:
    # Alertmanager writes Go's zero time ("0001-01-01T00:00:00Z") for "no end yet".
    if value is None or value == "":
        return None
    moment = parse_timestamp(value, naive_is_utc=False)
    return None if moment.year == 1 else moment


EndTimestamp = Annotated[
    datetime | None,
    BeforeValidator(_end_or_none),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
AlertStatus = Literal["firing", "resolved"]


class Alert(_Lenient):
    """One alert of an Alertmanager notification."""

    status: AlertStatus | None = None
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: AwareTimestamp = Field(alias="startsAt")
    ends_at: EndTimestamp = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str | None = None

    @field_validator("starts_at")
    @classmethod
    def _has_start(cls, starts_at: datetime) -> datetime:
        if starts_at.year == 1:
            raise ValueError("startsAt is Go's zero time: the alert has no start")
        return starts_at


class AlertmanagerNotification(_Lenient):
    """Alertmanager's webhook payload (version 4): one alert group."""

    version: str | None = None
    group_key: str | None = Field(default=None, alias="groupKey")
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")
    status: AlertStatus
    receiver: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: Sequence[Alert] = Field(min_length=1)


class GrafanaAlert(Alert):
    """One alert of a Grafana unified-alerting notification."""

    values: dict[str, Any] | None = None
    """The value of each query or expression of the rule, by ref id (`B`, `C`)."""
    silence_url: str = Field(default="", alias="silenceURL")
    dashboard_url: str = Field(default="", alias="dashboardURL")
    panel_url: str = Field(default="", alias="panelURL")
    image_url: str = Field(default="", alias="imageURL")


class GrafanaNotification(AlertmanagerNotification):
    """Grafana's unified-alerting webhook payload (`version: "1"`)."""

    alerts: Sequence[GrafanaAlert] = Field(min_length=1)
    org_id: int | None = Field(default=None, alias="orgId")
    state: str | None = None
    title: str | None = None
    message: str | None = None


def parse_alertmanager(data: Any) -> AlertmanagerNotification:
    """The Alertmanager notification in `data`, or PayloadRejected naming each failing field."""
    return parse(AlertmanagerNotification, data, what="Alertmanager webhook notification")


def parse_grafana(data: Any) -> GrafanaNotification:
    """The Grafana notification in `data`; the legacy (pre-8) format is refused with advice."""
    if isinstance(data, dict) and "alerts" not in data and LEGACY_GRAFANA_KEYS & data.keys():
        raise PayloadRejected(
            "this is Grafana's legacy alerting notification (ruleName, evalMatches; Grafana 7 "
            "and earlier): it carries no alert labels, fingerprints or start times. Enable "
            "Grafana unified alerting (Grafana 8+, the default since 9) and send through a "
            "webhook contact point",
            [field_error(["body"], "legacy Grafana alert format", "legacy_grafana_alert")],
        )
    return parse(GrafanaNotification, data, what="Grafana unified alerting notification")


# --- attribution -------------------------------------------------------------------------------


def named_systems(notification: AlertmanagerNotification) -> list[str | None]:
    """The `ai_system` each alert names (its own label, else the group's common label)."""
    common = notification.common_labels.get(SYSTEM_KEY)
    return [alert.labels.get(SYSTEM_KEY) or common for alert in notification.alerts]


def is_grafana_test(notification: GrafanaNotification) -> bool:
    """Whether this is what Grafana sends when someone presses "Test" on the contact point."""
    return all(
        all(alert.labels.get(k) == v for k, v in GRAFANA_TEST_LABELS.items())
        for alert in notification.alerts
    )


# --- mapping -----------------------------------------------------------------------------------


def alertmanager_fingerprint(labels: Mapping[str, str]) -> str:
    """The fingerprint Alertmanager gives a label set (Prometheus `LabelSet.Fingerprint`)."""
    offset, prime, mask = 14695981039346656037, 1099511628211, 0xFFFFFFFFFFFFFFFF
    digest = offset
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode():
                digest = ((digest ^ byte) * prime) & mask
            digest = ((digest ^ 0xFF) * prime) & mask  # Prometheus' separator byte
    return f"{digest:016x}"


def alert_severity(label: str | None) -> AlertSeverity:
    """The catalog severity of a `severity` label value (`DEFAULT_SEVERITY` when unknown)."""
    if label is None:
        return DEFAULT_SEVERITY
    return SEVERITY_WORDS.get(label.strip().lower(), DEFAULT_SEVERITY)


def map_alertmanager(notification: AlertmanagerNotification, *, system_id: str) -> Outcome:
    """One alert event per alert of an Alertmanager notification, for `system_id`."""
    return _map(notification, system_id=system_id, source=ALERTMANAGER_SOURCE, scope=())


def map_grafana(notification: GrafanaNotification, *, system_id: str) -> Outcome:
    """One alert event per alert of a Grafana notification, for `system_id`."""
    # Grafana fingerprints are computed per organisation's rules; keep orgs apart.
    scope = (f"org:{notification.org_id}",) if notification.org_id is not None else ()
    return _map(notification, system_id=system_id, source=GRAFANA_SOURCE, scope=scope)


def _map(
    notification: AlertmanagerNotification, *, system_id: str, source: str, scope: tuple[str, ...]
) -> Outcome:
    drafts = [
        _draft(notification, alert, index, system_id=system_id, source=source, scope=scope)
        for index, alert in enumerate(notification.alerts)
    ]
    ignored = []
    if notification.truncated_alerts:
        ignored.append(
            IgnoredItem(
                ref="truncatedAlerts",
                reason=f"the sender left {notification.truncated_alerts} alert(s) of this group "
                "out of the notification (max_alerts / Max Alerts); set it to 0 to send them all",
            )
        )
    return Outcome(drafts=drafts, ignored=ignored)


def _draft(
    notification: AlertmanagerNotification,
    alert: Alert,
    index: int,
    *,
    system_id: str,
    source: str,
    scope: tuple[str, ...],
) -> Draft:
    loc = ("body", "alerts", index)
    labels = {**notification.common_labels, **alert.labels}
    fingerprint = fingerprint_of(alert)
    fields: dict[str, Any] = {
        "system_id": system_id,
        "alert_id": f"{fingerprint}-{_compact(alert.starts_at)}",
        "fingerprint": fingerprint,
        "version": labels.get(RELEASE_KEY),
        "signal": slugify(labels.get("signal")) or slugify(labels.get("alertname")) or "other",
        "severity": alert_severity(labels.get("severity")),
        "summary": _summary(alert, labels, fingerprint),
        "labels": routing_labels(labels),
        "value": observed_value(alert),
        "threshold": _number(alert.annotations.get("threshold")),
        "source_url": _source_url(alert),
        "starts_at": alert.starts_at,
    }
    status = alert.status or notification.status
    if status == "resolved":
        if alert.ends_at is None:
            raise PayloadRejected(
                "a resolved alert must say when it ended",
                [field_error([*loc, "endsAt"], "required when the alert is resolved", "missing")],
            )
        payload: AlertRaised | AlertResolved = build(
            AlertResolved, loc=loc, **fields, ends_at=alert.ends_at
        )
        parts: tuple[str, ...] = (
            fingerprint,
            status,
            utc_text(alert.starts_at),
            utc_text(alert.ends_at),
        )
        time = alert.ends_at
    else:
        payload = build(AlertRaised, loc=loc, **fields, ends_at=alert.ends_at)
        # endsAt of a firing alert moves with every re-send, so it is not part of its identity.
        parts = (fingerprint, status, utc_text(alert.starts_at))
        time = alert.starts_at
    return Draft(payload=payload, event_id=stable_id(*scope, *parts), source=source, time=time)


def fingerprint_of(alert: Alert) -> str:
    """The alert's fingerprint, or the one Alertmanager would compute from its labels."""
    given = (alert.fingerprint or "").strip()
    return given if _FINGERPRINT.match(given) else alertmanager_fingerprint(alert.labels)


def routing_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """The labels the catalog can carry: label-like keys, bounded values, at most 64."""
    kept = [
        (key, value[:_MAX_LABEL_VALUE])
        for key, value in sorted(labels.items())
        if _LABEL_KEY.match(key)
    ]
    return dict(kept[:_MAX_LABELS])


def observed_value(alert: Alert) -> float | None:
    """The monitored value: Grafana's only value (or the `value_ref` one), else annotation `value`."""
    if isinstance(alert, GrafanaAlert) and alert.values:
        numbers = {
            ref: float(v)
            for ref, v in alert.values.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        }
        chosen = alert.annotations.get("value_ref")
        if chosen in numbers:
            return numbers[chosen]
        if len(numbers) == 1:
            return next(iter(numbers.values()))
    return _number(alert.annotations.get("value"))


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _summary(alert: Alert, labels: Mapping[str, str], fingerprint: str) -> str:
    for text in (
        alert.annotations.get("summary"),
        alert.annotations.get("description"),
        alert.annotations.get("message"),
        labels.get("alertname"),
    ):
        if text and text.strip():
            return clip(text, _MAX_SUMMARY)
    return f"alert {fingerprint}"


def _source_url(alert: Alert) -> str | None:
    candidates = [alert.generator_url, alert.annotations.get("runbook_url", "")]
    if isinstance(alert, GrafanaAlert):
        candidates = [alert.panel_url, alert.dashboard_url, *candidates]
    for url in candidates:
        if url and len(url) <= 2048 and _WEB_URL.match(url):
            return url
    return None


def _compact(moment: datetime) -> str:
    # 2021-10-12T07:51:03.157076+00:00 -> 20211012T075103.157076Z: fits the catalog's Identifier.
    return utc_text(moment).replace("+00:00", "Z").replace("-", "").replace(":", "")
