"""The OIDC sign-in routes: `/dashboard/oidc/start` and `/dashboard/oidc/callback`.

`start` makes a fresh `state`, `nonce` and PKCE verifier, keeps them (and `next`) in the
short-lived signed cookie `aigov_dashboard_oidc` (HttpOnly, SameSite=Lax so that it comes back
on the provider's top-level redirect, Path=/dashboard/oidc, 10 minutes) and sends the browser
to the provider. `callback` clears that cookie whatever happens, refuses a `state` it has
already seen in this process (single use), compares the state in constant time, exchanges the
code, verifies the ID token (dashboard/oidc.py), checks the allow-list and opens a session.

The session cookie is SameSite=Strict, so the callback answers with a page that moves on to
`next` itself (meta refresh): a redirect would still belong to the provider's cross-site
navigation and the browser would not send the new cookie with it.

When OIDC is not configured both routes answer 404.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import secrets
import time
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from aigov_evidence.api.deps import NO_NUL_PATTERN, Now
from aigov_evidence.dashboard.oidc import (
    OidcConfig,
    ProviderError,
    ProviderUnavailable,
    TokenRejected,
    config_of,
    is_reader,
    provider_for,
)
from aigov_evidence.dashboard.pages import Next, safe_next, sign_in_wait
from aigov_evidence.dashboard.render import SECURITY_HEADERS, page
from aigov_evidence.dashboard.session import (
    oidc_principal,
    open_oidc_session,
    set_session_cookie,
    state_key,
)
from aigov_runtime.errors import ProblemError
from aigov_runtime.tags import Tag

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/dashboard/oidc", tags=[Tag.SYSTEMS], include_in_schema=False)

STATE_COOKIE: Final = "aigov_dashboard_oidc"
STATE_COOKIE_PATH: Final = "/dashboard/oidc"
STATE_LIFETIME_SECONDS: Final = 600
MAX_STATE_COOKIE_CHARS: Final = 2048
#: States seen by callbacks (digest -> expiry), so a state cookie works once per process.
_USED_STATE_KEY: Final = "aigov_dashboard_oidc_used_states"
MAX_REMEMBERED_STATES: Final = 100_000

Param = Annotated[str | None, Query(max_length=4096, pattern=NO_NUL_PATTERN)]
ShortParam = Annotated[str | None, Query(max_length=500, pattern=NO_NUL_PATTERN)]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _config(request: Request) -> OidcConfig:
    config = config_of(request.app.state.settings)
    if config is None:
        raise ProblemError(404, "OIDC sign-in is not configured on this aigov")
    return config


def _message(title: str, message: str, status_code: int) -> Response:
    response = page(
        "oidc_message.html.j2",
        viewer=None,
        status_code=status_code,
        title=title,
        message=message,
    )
    _clear_state(response)
    return response


def _too_many(wait: float) -> Response:
    # Each start and callback costs calls to the provider: the token form's budget bounds both.
    response = _message(
        "Too many sign-in attempts",
        "Too many sign-in attempts from your address; try again in a minute.",
        429,
    )
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def _clear_state(response: Response) -> None:
    response.delete_cookie(STATE_COOKIE, path=STATE_COOKIE_PATH, httponly=True, samesite="lax")


def _provider_down(config: OidcConfig, exc: Exception) -> Response:
    logger.warning("OIDC provider %s: %s", config.issuer, exc)
    if isinstance(exc, ProviderUnavailable):
        return _message(
            "Sign-in is unavailable",
            f"The identity provider ({config.provider_name}) cannot be reached right now. "
            "Try again in a minute, or sign in with a reader token.",
            503,
        )
    return _message(
        "Sign-in failed",
        f"The identity provider ({config.provider_name}) gave an answer we cannot use: {exc}. "
        "Ask your aigov administrator to check the OIDC settings.",
        502,
    )


def _seal(request: Request, values: dict[str, Any]) -> str:
    body = _b64(json.dumps(values, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(state_key(request), f"oidc1.{body}".encode(), hashlib.sha256).digest()
    return f"oidc1.{body}.{_b64(mac)}"


def _unseal(request: Request, value: str | None) -> dict[str, Any] | None:
    if not value or len(value) > MAX_STATE_COOKIE_CHARS:
        return None
    parts = value.split(".")
    if len(parts) != 3 or parts[0] != "oidc1":
        return None
    expected = hmac.new(state_key(request), f"oidc1.{parts[1]}".encode(), hashlib.sha256)
    try:
        if not hmac.compare_digest(_unb64(parts[2]), expected.digest()):
            return None
        values = json.loads(_unb64(parts[1]))
    except ValueError:
        return None
    if not isinstance(values, dict):
        return None
    fields = ("state", "nonce", "verifier", "next", "exp")
    if any(name not in values for name in fields) or type(values["exp"]) is not int:
        return None
    if values["exp"] <= time.time() or not all(
        isinstance(values[name], str) for name in fields[:4]
    ):
        return None
    return values


def _first_use(request: Request, state: str, expiry: int) -> bool:
    """Remember `state` as used; False when it was used before."""
    used: dict[bytes, int] = getattr(request.app.state, _USED_STATE_KEY, None) or {}
    setattr(request.app.state, _USED_STATE_KEY, used)
    now = time.time()
    if len(used) >= MAX_REMEMBERED_STATES // 2:
        for digest in [d for d, until in used.items() if until <= now]:
            del used[digest]
    digest = hashlib.sha256(state.encode()).digest()
    if digest in used:
        return False
    if len(used) >= MAX_REMEMBERED_STATES:
        # Never forget a live state to make room: refuse until some expire.
        return False
    used[digest] = expiry
    return True


@router.get("/start", summary="Sign in with the OpenID provider")
async def oidc_start(request: Request, next: Next = None) -> Response:
    """Send the browser to the provider (authorization code flow, PKCE S256, state, nonce)."""
    config = _config(request)
    if (wait := sign_in_wait(request)) > 0:
        return _too_many(wait)
    provider = provider_for(request.app.state, config)
    try:
        found = await provider.discovery()
    except (ProviderUnavailable, ProviderError) as exc:
        return _provider_down(config, exc)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(48)
    challenge = _b64(hashlib.sha256(verifier.encode()).digest())
    query = urlencode(
        {
            "response_type": "code",
            "client_id": config.client_id,
            "redirect_uri": config.redirect_uri,
            "scope": config.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if "?" in found.authorization_endpoint else "?"
    response = RedirectResponse(
        f"{found.authorization_endpoint}{separator}{query}", 302, headers=SECURITY_HEADERS
    )
    sealed = _seal(
        request,
        {
            "state": state,
            "nonce": nonce,
            "verifier": verifier,
            "next": next if safe_next(next) and next else "/dashboard",
            "exp": int(time.time()) + STATE_LIFETIME_SECONDS,
        },
    )
    response.set_cookie(
        STATE_COOKIE,
        sealed,
        max_age=STATE_LIFETIME_SECONDS,
        path=STATE_COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/callback", summary="The OpenID provider's answer")
async def oidc_callback(
    request: Request,
    now: Now,
    code: Param = None,
    state: ShortParam = None,
    error: ShortParam = None,
    error_description: ShortParam = None,
    error_uri: ShortParam = None,
    iss: ShortParam = None,
    session_state: ShortParam = None,
    scope: ShortParam = None,
    authuser: ShortParam = None,
    prompt: ShortParam = None,
    hd: ShortParam = None,
) -> Response:
    """Check the answer, exchange the code, verify the ID token and open a session."""
    config = _config(request)
    if (wait := sign_in_wait(request)) > 0:
        return _too_many(wait)
    kept = _unseal(request, request.cookies.get(STATE_COOKIE))
    if kept is None or state is None:
        return _message(
            "Sign-in expired",
            "This sign-in was not started here, took longer than 10 minutes, or was already "
            "used. Start again.",
            400,
        )
    if not hmac.compare_digest(kept["state"].encode(), state.encode()):
        return _message("Sign-in refused", "The answer does not belong to this sign-in.", 400)
    if not _first_use(request, kept["state"], kept["exp"]):
        return _message("Sign-in refused", "This sign-in was already used. Start again.", 400)
    if error is not None:
        detail = f": {error_description}" if error_description else ""
        return _message(
            "Sign-in cancelled",
            f"The identity provider ({config.provider_name}) answered {error}{detail}.",
            403,
        )
    provider = provider_for(request.app.state, config)
    try:
        found = await provider.discovery()
        if iss is not None and iss != found.issuer:
            return _message("Sign-in refused", "The answer names another identity provider.", 400)
        if not code:
            return _message("Sign-in refused", "The provider's answer carries no code.", 400)
        tokens = await provider.exchange(code, kept["verifier"])
        claims = await provider.verify(tokens["id_token"], nonce=kept["nonce"])
        identity = await provider.identity(claims, tokens.get("access_token"))
    except (ProviderUnavailable, ProviderError) as exc:
        return _provider_down(config, exc)
    except TokenRejected as exc:
        logger.warning("OIDC sign-in refused: %s", exc)
        return _message(
            "Sign-in refused", f"The identity provider's answer failed a check: {exc}.", 401
        )
    if not is_reader(identity.email, config.readers):
        return _message(
            "No access to the dashboard",
            f"{identity.email} is not a reader of this dashboard. Readers are configured by your "
            "aigov administrator (AIGOV_EVIDENCE_DASHBOARD_OIDC_READERS).",
            403,
        )
    next_page = kept["next"] if safe_next(kept["next"]) else "/dashboard"
    response = page(
        "oidc_signed_in.html.j2",
        viewer=None,
        next_page=next_page,
        principal=oidc_principal(identity.email).name,
    )
    _clear_state(response)
    set_session_cookie(response, request, open_oidc_session(request, identity.email, now=now))
    return response
