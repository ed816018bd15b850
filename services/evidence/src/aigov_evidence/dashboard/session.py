"""Dashboard sessions: a signed cookie that names a principal and holds no token.

The cookie `aigov_dashboard` is `v1.<payload>.<signature>`, both parts unpadded base64url:

- `payload` is JSON `{"sub": principal, "exp": unix seconds, "tok": binding, "sid": nonce}`;
- `binding` is HMAC-SHA256(binding key, SHA-256(token)): the token itself is never in the
  cookie, and the binding cannot be turned back into the token's digest without the key;
- `signature` is HMAC-SHA256(signing key, "v1." + payload).

The three keys (signing, binding, CSRF) are derived from one secret,
`AIGOV_EVIDENCE_DASHBOARD_SESSION_SECRET`, or from a random secret made when the process
starts (sessions then end on restart and are not shared between replicas).

A cookie is accepted only if its signature verifies, it has not expired (and expires no
later than the longest session allows: a cookie claiming a later expiry was not made here),
and its binding still matches a token in the app's registry that resolves to the principal it
names, with a role that may read (reader or admin). Removing a token from the configuration
or moving it to another principal therefore ends every session opened with it; forging or
editing a cookie needs the secret.

A session opened by OIDC sign-in (dashboard/oidc.py) has the payload
`{"kind": "oidc", "sub": "oidc:<email>", "email": email, "exp": ..., "sid": ...}` and no
binding: it is accepted while its signature verifies, it has not expired, OIDC is still
configured and the address is still on `AIGOV_EVIDENCE_DASHBOARD_OIDC_READERS` (checked on
every request, so removing a reader ends their sessions). Its principal has the reader role.

The CSRF token of a session is HMAC-SHA256(CSRF key, "csrf:" + sid), so it is per session,
never stored, and only the server can compute it; every POST form of a signed-in page carries
it and the server compares it in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from fastapi import Request, Response

from aigov_evidence.dashboard.oidc import is_reader
from aigov_evidence.settings import Settings
from aigov_runtime.auth import (
    Principal,
    Role,
    principal_for_keyed_digest,
    principal_for_token,
    token_digest,
)

COOKIE: Final = "aigov_dashboard"
COOKIE_PATH: Final = "/dashboard"
LIFETIME: Final = timedelta(hours=8)
MAX_COOKIE_CHARS: Final = 2048
_VERSION: Final = "v1"
# Made once per process: without a configured secret, a restart ends every session.
_PROCESS_SECRET: Final = secrets.token_bytes(32)


@dataclass(frozen=True, slots=True)
class Viewer:
    """A signed-in dashboard user: the principal, when the session ends, its CSRF token."""

    principal: Principal
    expires_at: datetime
    csrf: str


@dataclass(frozen=True, slots=True)
class _Keys:
    signing: bytes
    binding: bytes
    csrf: bytes
    state: bytes


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _keys(request: Request) -> _Keys:
    settings: Settings = request.app.state.settings
    configured = settings.evidence_dashboard_session_secret
    secret = configured.get_secret_value().encode() if configured is not None else _PROCESS_SECRET

    def derive(label: bytes) -> bytes:
        return hmac.new(secret, b"aigov-dashboard:" + label, hashlib.sha256).digest()

    return _Keys(derive(b"signing"), derive(b"binding"), derive(b"csrf"), derive(b"oidc-state"))


def state_key(request: Request) -> bytes:
    """The key the OIDC sign-in signs its short-lived state cookie with."""
    return _keys(request).state


def may_read(principal: Principal) -> bool:
    """Whether the principal may use the dashboard (reader, or admin)."""
    return principal.has_role(Role.READER)


def resolve_token(request: Request, token: str) -> Principal | None:
    """The principal a pasted token stands for, resolved as the API resolves bearer tokens."""
    return principal_for_token(request, token)


def _csrf(keys: _Keys, sid: str) -> str:
    return _b64(hmac.new(keys.csrf, b"csrf:" + sid.encode(), hashlib.sha256).digest())


def open_session(request: Request, token: str, principal: Principal, *, now: datetime) -> str:
    """The cookie value of a new session of `principal`, opened with `token`."""
    keys = _keys(request)
    payload = {
        "sub": principal.name,
        "exp": int((now + LIFETIME).timestamp()),
        "tok": _b64(hmac.new(keys.binding, token_digest(token), hashlib.sha256).digest()),
        "sid": _b64(secrets.token_bytes(16)),
    }
    return _signed(keys, payload)


def oidc_principal(email: str) -> Principal:
    """The principal of a person signed in with OIDC: `oidc:<email>`, reader."""
    return Principal(name=f"oidc:{email}", roles=frozenset({Role.READER}))


def open_oidc_session(request: Request, email: str, *, now: datetime) -> str:
    """The cookie value of a new session of the OIDC reader `email` (verified, allowed)."""
    payload = {
        "kind": "oidc",
        "sub": oidc_principal(email).name,
        "email": email,
        "exp": int((now + LIFETIME).timestamp()),
        "sid": _b64(secrets.token_bytes(16)),
    }
    return _signed(_keys(request), payload)


def _signed(keys: _Keys, payload: dict[str, object]) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    signed = f"{_VERSION}.{body}"
    signature = hmac.new(keys.signing, signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{_b64(signature)}"


def read_session(request: Request, *, now: datetime) -> Viewer | None:
    """The viewer of the request's session cookie, or None if it is absent or not valid now."""
    value = request.cookies.get(COOKIE)
    if not value or len(value) > MAX_COOKIE_CHARS:
        return None
    parts = value.split(".")
    if len(parts) != 3 or parts[0] != _VERSION:
        return None
    keys = _keys(request)
    try:
        signature = _unb64(parts[2])
    except ValueError:
        return None
    expected = hmac.new(keys.signing, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        return None
    try:
        payload = json.loads(_unb64(parts[1]))
        if isinstance(payload, dict) and "kind" in payload:
            return _oidc_viewer(request, keys, payload, now=now)
        name, expiry, binding, sid = payload["sub"], payload["exp"], payload["tok"], payload["sid"]
        if not (isinstance(name, str) and isinstance(sid, str) and isinstance(binding, str)):
            return None
        if type(expiry) is not int:
            return None
        mac = _unb64(binding)
    except (ValueError, KeyError, TypeError):
        return None
    # Compared as numbers first: a forged huge expiry must not overflow a datetime.
    if not now.timestamp() < expiry <= (now + LIFETIME).timestamp():
        return None
    expires_at = datetime.fromtimestamp(expiry, tz=now.tzinfo)
    principal = principal_for_keyed_digest(request, keys.binding, mac)
    if principal is None or principal.name != name or not may_read(principal):
        return None
    return Viewer(principal=principal, expires_at=expires_at, csrf=_csrf(keys, sid))


def _oidc_viewer(
    request: Request, keys: _Keys, payload: dict[str, object], *, now: datetime
) -> Viewer | None:
    settings: Settings = request.app.state.settings
    kind, email, expiry, sid = (payload.get(k) for k in ("kind", "email", "exp", "sid"))
    if kind != "oidc" or not isinstance(email, str) or not isinstance(sid, str):
        return None
    if type(expiry) is not int or not now.timestamp() < expiry <= (now + LIFETIME).timestamp():
        return None
    # OIDC switched off, or the reader taken off the allow-list: the session has ended.
    if settings.evidence_dashboard_oidc_issuer is None:
        return None
    if not is_reader(email, settings.evidence_dashboard_oidc_readers):
        return None
    principal = oidc_principal(email)
    if payload.get("sub") != principal.name:
        return None
    expires_at = datetime.fromtimestamp(expiry, tz=now.tzinfo)
    return Viewer(principal=principal, expires_at=expires_at, csrf=_csrf(keys, sid))


def set_session_cookie(response: Response, request: Request, value: str | None) -> None:
    """Give the browser the session cookie `value` (HttpOnly, SameSite=Strict), or end it (None)."""
    secure = request.url.scheme == "https"
    if value is None:
        response.delete_cookie(
            COOKIE, path=COOKIE_PATH, secure=secure, httponly=True, samesite="strict"
        )
        return
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def csrf_matches(viewer: Viewer, presented: str | None) -> bool:
    """Whether a form's CSRF token is the session's (constant-time comparison)."""
    return presented is not None and hmac.compare_digest(viewer.csrf.encode(), presented.encode())
