"""Secrets the router must not run with outside development.

A routing file that gives a credential variable a `${VAR:-default}` makes that default as
public as the file (the shipped file and the production example give none), so a router with
`env` other than `dev` refuses to start (or reload) while a receiver still uses such a
default, or any value that looks like a placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

SECRET_VARIABLES: Final = frozenset(
    {
        "AIGOV_PAGERDUTY_ROUTING_KEY",
        "AIGOV_DIGEST_WEBHOOK_SECRET",
        "AIGOV_SLACK_WEBHOOK_URL",
        "AIGOV_SMTP_PASSWORD",
    }
)
"""Variables of the shipped example that carry credentials (a Slack webhook URL is one)."""

_DEFAULT_REF: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):-([^}]*)\}")
_PLACEHOLDER_MARKERS: Final = (
    "changeme",
    "change-me",
    "change_me",
    "please-change",
    "placeholder",
    "replace-me",
    "not-configured",
)


def shipped_defaults(text: str) -> dict[str, str]:
    """Default value -> variable, for the credential variables the routing file `text` defaults."""
    return {
        default: name
        for name, default in _DEFAULT_REF.findall(text)
        if name in SECRET_VARIABLES and default
    }


def weakness(value: str, defaults: Mapping[str, str]) -> str | None:
    """Why `value` must not be used outside dev, or None; never repeats the value."""
    if value in defaults:
        return f"is the default the routing file gives it; set {defaults[value]}"
    lowered = value.lower()
    if any(marker in lowered for marker in _PLACEHOLDER_MARKERS):
        return "looks like a placeholder; set a real secret"
    return None
