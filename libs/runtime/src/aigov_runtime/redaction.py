"""Masking of secrets (tokens, passwords, signatures) in text and structured values.

Used by the log pipeline and by anything that echoes an error message to a client, so a bearer
token or a database password cannot leak through either path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["REDACTED", "is_sensitive_key", "redact_text", "redact_value"]

REDACTED = "[REDACTED]"

# Substrings of key names whose values are secrets: header names (Authorization,
# X-Hub-Signature-256, Cookie), settings (auth_tokens) and common payload fields.
_SENSITIVE_KEY = re.compile(
    r"authorization|token|secret|passw(or)?d|signature|api[_-]?key|cookie|credential|private[_-]?key",
    re.IGNORECASE,
)

_TEXT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # `Bearer <token>` anywhere (headers pasted into messages, exception texts).
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*"), rf"\1 {REDACTED}"),
    # key=value / key: value / "key": "value" where the key names a secret (query strings too).
    (
        re.compile(
            r"(?i)\b([\w-]*(?:token|secret|passw(?:or)?d|signature|api[_-]?key|authorization)[\w-]*)"
            r"""(["']?\s*[:=]\s*["']?)(?!\[REDACTED\])([^\s"'&,;}\]]+)"""
        ),
        rf"\1\2{REDACTED}",
    ),
    # Passwords in URLs: scheme://user:password@host.
    (re.compile(r"(\b[a-zA-Z][\w+.-]*://[^:/@\s]*:)[^@/\s]+(@)"), rf"\1{REDACTED}\2"),
)


def is_sensitive_key(key: str) -> bool:
    """True when a field called `key` holds a secret whose value must never be shown."""
    return _SENSITIVE_KEY.search(key) is not None


def redact_text(text: str) -> str:
    """Mask bearer tokens, `secret=...`-style pairs and URL passwords inside free text."""
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: Any, *, key: str | None = None) -> Any:
    """Recursively mask a structured value: sensitive keys lose their value, strings are scanned."""
    if key is not None and is_sensitive_key(key) and value is not None:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): redact_value(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item) for item in value]
    return value
