"""Regular expressions of label matchers, on RE2: matching time is linear in the input.

Alertmanager compiles matcher regexes with Go's `regexp` (RE2 semantics, anchored as
`^(?:...)$`). Python's backtracking `re` is exponential on patterns such as `(a|aa)+`, and
a silence's regex is chosen by a client and run against every alert of the system at each
flush, so the router uses Google's RE2 too. RE2 refuses what it cannot run in linear time
(backreferences, lookarounds) and repetition counts above 1000; patterns are also capped in
length, because compiling and running them costs memory and time proportional to their size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

ENGINE: Final = "re2"
"""The engine behind matcher regexes (linear-time, no backtracking)."""
DEFAULT_MAX_PATTERN_CHARS: Final = 1024
"""Longest regex a matcher may carry unless configured otherwise."""

_OPTIONS: Final = re2.Options()
# Compile errors are reported to the caller; RE2's own stderr logging would only duplicate them.
_OPTIONS.log_errors = False


class PatternRejected(ValueError):
    """The pattern is not a regex RE2 accepts, or it is longer than allowed."""


@dataclass(frozen=True, slots=True)
class AnchoredRegex:
    """A compiled regex that must match a whole label value."""

    pattern: str
    _compiled: Any = field(compare=False, repr=False)

    def matches(self, value: str) -> bool:
        """Whether the whole of `value` matches."""
        return self._compiled.match(value) is not None


def compile_anchored(pattern: str, *, max_chars: int | None) -> AnchoredRegex:
    """Compile `^(?:pattern)$` with RE2; PatternRejected when too long or not valid RE2."""
    if max_chars is not None and len(pattern) > max_chars:
        raise PatternRejected(f"regular expression is longer than {max_chars} characters")
    try:
        # Compiled alone first: `a)|(b` would otherwise escape the anchoring group.
        re2.compile(pattern, options=_OPTIONS)
        compiled = re2.compile(f"^(?:{pattern})$", options=_OPTIONS)
    except re2.error as exc:
        raise PatternRejected(f"invalid regular expression {pattern!r}: {_reason(exc)}") from None
    return AnchoredRegex(pattern, compiled)


def _reason(exc: Exception) -> str:
    # RE2 reports its reason as bytes (e.g. b'invalid perl operator: (?=').
    reason = exc.args[0] if exc.args else "not accepted by RE2"
    text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    return f"{text} (RE2 syntax: no backreferences or lookarounds)"
