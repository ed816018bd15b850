"""Inhibition rules (Alertmanager semantics) and silences, evaluated on label sets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from aigov_monitoring_router.matchers import Matcher, matches_all
from aigov_monitoring_router.routing_config import InhibitRuleConfig


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """Mutes target alerts while a source alert with the same `equal` labels fires."""

    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]

    @classmethod
    def from_config(cls, config: InhibitRuleConfig) -> InhibitRule:
        """A configured rule (its matchers were compiled when the file was validated)."""
        return cls(
            source=config.parsed_source,
            target=config.parsed_target,
            equal=tuple(config.equal),
        )

    def inhibits(self, target: Mapping[str, str], sources: Iterable[Mapping[str, str]]) -> bool:
        """Whether some firing `sources` alert mutes `target` under this rule.

        As in Alertmanager: a label missing on both sides counts as equal, and an alert
        matching both the source and the target side never inhibits itself.
        """
        if not matches_all(self.target, target):
            return False
        for source in sources:
            if source is target or dict(source) == dict(target):
                continue
            if not matches_all(self.source, source):
                continue
            if all(source.get(name, "") == target.get(name, "") for name in self.equal):
                return True
        return False


def inhibited(
    rules: Sequence[InhibitRule],
    target: Mapping[str, str],
    sources: Sequence[Mapping[str, str]],
) -> bool:
    """Whether any rule mutes `target` given the firing `sources`."""
    return any(rule.inhibits(target, sources) for rule in rules)


@dataclass(frozen=True, slots=True)
class SilenceWindow:
    """A silence as the matching logic sees it."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime

    def active(self, now: datetime) -> bool:
        """Whether the silence is in force at `now` (start inclusive, end exclusive)."""
        return self.starts_at <= now < self.ends_at

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        """Whether this silence mutes an alert with `labels` at `now`."""
        return self.active(now) and matches_all(self.matchers, labels)


def silenced_by(
    silences: Iterable[SilenceWindow], labels: Mapping[str, str], now: datetime
) -> list[str]:
    """Ids of the silences that mute `labels` at `now`."""
    return [s.id for s in silences if s.mutes(labels, now)]
