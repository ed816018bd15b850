"""Alertmanager label matchers: `name="v"`, `name!="v"`, `name=~"re"`, `name!~"re"` (anchored).

As in Alertmanager, a missing label has the value "" (so `team=""` matches alerts without
a team) and regular expressions are anchored at both ends (`^(?:re)$`) and run on RE2
(`label_regex`), so matching takes linear time whatever the pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from aigov_monitoring_router.label_regex import (
    DEFAULT_MAX_PATTERN_CHARS,
    AnchoredRegex,
    PatternRejected,
    compile_anchored,
)

_MATCHER: Final = re.compile(
    r"""^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*"""
    r"""(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>[^"\s][^"]*?))?\s*$"""
)


class MatchType(StrEnum):
    """The four matcher operators."""

    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


@dataclass(frozen=True, slots=True)
class Matcher:
    """One condition on one label."""

    name: str
    type: MatchType
    value: str
    _regex: AnchoredRegex | None = field(default=None, compare=False, repr=False)

    @classmethod
    def create(
        cls,
        name: str,
        type: MatchType,
        value: str,
        *,
        max_pattern_chars: int | None = DEFAULT_MAX_PATTERN_CHARS,
    ) -> Matcher:
        """Build a matcher, compiling (anchored, RE2) regexes; PatternRejected on a bad one.

        `max_pattern_chars=None` skips the length cap (for matchers accepted earlier).
        """
        regex = None
        if type in (MatchType.REGEX, MatchType.NOT_REGEX):
            regex = compile_anchored(value, max_chars=max_pattern_chars)
        return cls(name, type, value, regex)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether the label set satisfies this matcher (missing label = empty value)."""
        actual = labels.get(self.name, "")
        if self.type is MatchType.EQUAL:
            return actual == self.value
        if self.type is MatchType.NOT_EQUAL:
            return actual != self.value
        assert self._regex is not None
        found = self._regex.matches(actual)
        return found if self.type is MatchType.REGEX else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.type.value}"{escaped}"'


def parse_matcher(
    text: str, *, max_pattern_chars: int | None = DEFAULT_MAX_PATTERN_CHARS
) -> Matcher:
    """Parse `name op "value"`; ValueError naming the matcher and the problem otherwise."""
    found = _MATCHER.match(text)
    if found is None:
        raise ValueError(
            f"invalid matcher {text!r}: expected name, one of = != =~ !~, and a value "
            '(e.g. tier="high" or signal=~"drift|safety")'
        )
    quoted, bare = found.group("quoted"), found.group("bare")
    value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else (bare or "")
    try:
        return Matcher.create(
            found.group("name"),
            MatchType(found.group("op")),
            value,
            max_pattern_chars=max_pattern_chars,
        )
    except PatternRejected as exc:
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise PatternRejected(f"matcher {shown!r}: {exc}") from None


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether every matcher matches (an empty list matches everything)."""
    return all(m.matches(labels) for m in matchers)
