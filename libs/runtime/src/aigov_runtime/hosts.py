"""Which `Host` a request may name: loopback while the dev tokens are in effect, or a list.

DNS rebinding: a web page on `evil.example` rebinds its name to 127.0.0.1 and the browser then
sends the page's requests to a local aigov with `Host: evil.example`. The dev tokens are
public, so without this check that page could use the whole API. When the dev tokens are in
effect, only loopback names are served (`localhost`, `127.x.y.z`, `[::1]`, any port); with
`AIGOV_ALLOWED_HOSTS` set (any env), exactly the listed names are.

Refusals are `421 Misdirected Request` problem+json (RFC 9110 §15.5.20: this server does not
answer for that authority), distinct from the 403 of a principal lacking a role. Liveness and
readiness answer any Host: orchestrators probe pods by IP and the answers carry no data.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from starlette.types import ASGIApp, Receive, Scope, Send

from aigov_runtime.errors import problem_response, problem_responses

__all__ = [
    "HOST_EXEMPT_PATHS",
    "MISDIRECTED_REQUEST",
    "HostPolicy",
    "TrustedHostMiddleware",
    "document_misdirected_requests",
    "host_of",
    "is_loopback_host",
    "parse_allowed_hosts",
]

MISDIRECTED_REQUEST: Final = 421
HOST_EXEMPT_PATHS: Final = frozenset({"/healthz", "/readyz"})
"""Answered whatever the Host: probes address pods by IP, and these reveal nothing."""

_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")
_MAX_SHOWN = 100


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _canonical(name: str) -> str:
    """Lower-case, without brackets or a trailing dot; IP literals in their compressed form."""
    name = name.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    name = name.removesuffix(".")
    address = _address(name)
    return str(address) if address is not None else name


def is_loopback_host(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1); False for `0.0.0.0`."""
    name = _canonical(host)
    if name == "localhost":
        return True
    address = _address(name)
    return address is not None and address.is_loopback


def host_of(header: str) -> str | None:
    """The host named by a `Host` header value, without port (None when malformed)."""
    value = header.strip()
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            return None
        host, rest = value[: end + 1], value[end + 1 :]
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return None
        return _canonical(host) if _address(host[1:-1]) is not None else None
    host, sep, port = value.partition(":")
    if sep and not port.isdigit():
        return None
    canonical = _canonical(host)
    return canonical if canonical and _NAME.match(canonical) else None


def _entry(raw: str, index: int) -> str:
    entry = raw.strip().lower()
    where = f"AIGOV_ALLOWED_HOSTS entry #{index}"
    if not entry:
        raise ValueError(f"{where} is empty (separate host names with commas)")
    if entry == "*":
        return entry
    if "/" in entry or "@" in entry or any(c.isspace() for c in entry):
        raise ValueError(f"{where}: give a host name or address, no scheme, path or spaces")
    bare = entry[1:-1] if entry.startswith("[") and entry.endswith("]") else entry
    if ":" in bare:
        if _address(bare) is None:
            raise ValueError(f"{where}: give a host name without a port")
        return _canonical(bare)
    name = entry.removesuffix(".")
    if not _NAME.match(name.removeprefix("*.")):
        raise ValueError(f"{where}: not a host name (letters, digits, '-', '.'; '*.' prefix)")
    return name if name.startswith("*.") else _canonical(name)


def parse_allowed_hosts(value: str | Iterable[str]) -> tuple[str, ...]:
    """AIGOV_ALLOWED_HOSTS (comma-separated) as canonical entries; ValueError naming the entry."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(_entry(item, index) for index, item in enumerate(items, start=1))


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """The hosts served: `allowed` entries (`*`, `*.suffix`, names, IPs), or loopback only."""

    allowed: tuple[str, ...] | None = None

    def allows(self, host: str | None) -> bool:
        """True when a request naming `host` (from `host_of`) is served."""
        if host is None:
            return False
        if self.allowed is None:
            return is_loopback_host(host)
        for entry in self.allowed:
            if entry == "*" or entry == host:
                return True
            if entry.startswith("*.") and host.endswith(entry[1:]):
                return True
        return False

    def refusal(self, shown: str) -> str:
        """The detail of a 421 for a request whose Host header was `shown`."""
        shown = shown if len(shown) <= _MAX_SHOWN else shown[:_MAX_SHOWN] + "…"
        if self.allowed is None:
            return (
                f"Host {shown!r} is not served here: while the public dev tokens are in effect "
                "only loopback hosts are (localhost, 127.0.0.1, [::1]); list other names in "
                "AIGOV_ALLOWED_HOSTS"
            )
        return f"Host {shown!r} is not served here: it is not in AIGOV_ALLOWED_HOSTS"


class TrustedHostMiddleware:
    """ASGI middleware answering 421 problem+json to requests naming a host `policy` refuses."""

    def __init__(
        self, app: ASGIApp, *, policy: HostPolicy, exempt_paths: Iterable[str] = HOST_EXEMPT_PATHS
    ) -> None:
        self.app = app
        self.policy = policy
        self.exempt_paths = frozenset(exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on when its Host is allowed (or its path exempt), else refuse it."""
        if scope["type"] != "http" or scope["path"] in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        values = [v for name, v in scope.get("headers", ()) if name == b"host"]
        header = values[0].decode("latin-1") if len(values) == 1 else ""
        if len(values) == 1 and self.policy.allows(host_of(header)):
            await self.app(scope, receive, send)
            return
        response = problem_response(MISDIRECTED_REQUEST, detail=self.policy.refusal(header))
        await response(scope, receive, send)


def document_misdirected_requests(schema: dict[str, Any]) -> None:
    """Add the 421 answer to every operation of an OpenAPI `schema` the Host check covers."""
    (response,) = problem_responses(MISDIRECTED_REQUEST).values()
    for path, operations in schema.get("paths", {}).items():
        if path in HOST_EXEMPT_PATHS:
            continue
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault(str(MISDIRECTED_REQUEST), response)
