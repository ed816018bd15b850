"""Alert identity and labels: the label set the tree routes on, and its fingerprint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

#: Labels every routed alert carries (the tree and the default config rely on them).
SYSTEM: Final = "system"
TIER: Final = "tier"
TEAM: Final = "team"
SIGNAL: Final = "signal"
SEVERITY: Final = "severity"
#: Marks the synthetic alerts of the monitoring-coverage probe.
PROBE_LABEL: Final = "aigov_probe"

_FNV_OFFSET: Final = 0xCBF29CE484222325
_FNV_PRIME: Final = 0x100000001B3
_SEPARATOR: Final = b"\xff"  # cannot occur in UTF-8, as in Prometheus' label hashing


def fingerprint(labels: Mapping[str, str]) -> str:
    """FNV-1a 64 over the sorted labels (Prometheus' `LabelSet.Fingerprint`), as 16 hex digits."""
    value = _FNV_OFFSET
    for name in sorted(labels):
        for chunk in (name.encode(), _SEPARATOR, labels[name].encode(), _SEPARATOR):
            for byte in chunk:
                value ^= byte
                value = (value * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def identity_labels(
    *, system_id: str, signal: str, severity: str, labels: Mapping[str, str]
) -> dict[str, str]:
    """The labels that identify an alert series: the event's labels plus system/signal/severity.

    Tier and team are deliberately left out: they come from the router's projection and a
    re-tiering must not split one alert series into two.
    """
    identity = {k: v for k, v in labels.items() if k not in (TIER, TEAM)}
    identity.update({SYSTEM: system_id, SIGNAL: signal, SEVERITY: severity})
    return identity


def routing_labels(
    identity: Mapping[str, str], *, tier: str | None, team: str | None
) -> dict[str, str]:
    """The labels the tree sees: identity labels enriched with the system's tier and team."""
    labels = dict(identity)
    labels[TIER] = tier or "unknown"
    labels[TEAM] = team or "unknown"
    return labels
