"""The dashboard's OIDC sign-in against a real OpenID provider: zitadel/oidc's example OP.

The OP (tests/support/oidc_provider.py, built from github.com/zitadel/oidc v3.52.0) listens on a
real port, and every call our service makes to it (discovery, JWKS, token, userinfo) is real
HTTP. The test plays the browser: it follows each redirect itself, fills in the OP's login form,
and when the OP sends it to our redirect URI (a loopback URL nobody listens on) it hands that
path and query, with the state cookie, to the evidence app through its in-process ASGI client.
Cookies are carried explicitly (the client's jar is emptied before each request), as a browser
would scope them: `aigov_dashboard_oidc` to /dashboard/oidc, `aigov_dashboard` to /dashboard.

The OP puts `email` and `email_verified` only into its userinfo answer (an access token is
issued), so these tests go through our userinfo path as well.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jwt
import pytest
import pytest_asyncio

from aigov_evidence.dashboard.session import COOKIE
from tests.support.oidc_provider import (
    WEB_CLIENT_ID,
    WEB_CLIENT_SECRET,
    WRONG_PASSWORD_TEXT,
    RunningProvider,
    User,
    running_provider,
)
from tests.unit.evidence.conftest import embedded_settings
from tests.unit.evidence.dashboard.helpers import cookie_value, set_cookie
from tests.unit.evidence.harness import Harness, serve

# The first run builds the OP (Go), which can take minutes on a cold Go cache.
pytestmark = [pytest.mark.asyncio, pytest.mark.integration, pytest.mark.timeout(900)]

STATE_COOKIE = "aigov_dashboard_oidc"
# Where the OP sends the browser back to: only the "browser" (this test) ever follows it.
REDIRECT_URI = "http://127.0.0.1:8719/dashboard/oidc/callback"

ADA = User(
    id="id-ada",
    username="ada",
    password="analytical-engine-1843",
    email="Ada.Lovelace@Example.com",
    first_name="Ada",
    last_name="Lovelace",
)
EVE = User(id="id-eve", username="eve", password="eavesdrop-0000", email="eve@example.net")
UMA = User(
    id="id-uma",
    username="uma",
    password="unverified-2024",
    email="uma@example.org",
    email_verified=False,
)
READERS = ["ada.lovelace@example.com", "@example.org"]


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProvider]:
    with running_provider(
        tmp_path_factory.mktemp("oidc-op"),
        redirect_uris=[REDIRECT_URI],
        users=[ADA, EVE, UMA],
    ) as running:
        yield running


@pytest_asyncio.fixture
async def dashboard(provider: RunningProvider, tmp_path: Path) -> AsyncIterator[Harness]:
    """The evidence app (embedded mode) with OIDC sign-in at the example OP's web client."""
    settings = embedded_settings(
        tmp_path,
        evidence_dashboard_oidc_issuer=provider.issuer,
        evidence_dashboard_oidc_client_id=WEB_CLIENT_ID,
        evidence_dashboard_oidc_client_secret=WEB_CLIENT_SECRET,
        evidence_dashboard_oidc_redirect_uri=REDIRECT_URI,
        evidence_dashboard_oidc_readers=READERS,
        evidence_dashboard_oidc_provider_name="zitadel example OP",
    )
    async with serve(settings) as harness:
        yield harness


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    """The browser's side towards the OP: real HTTP, redirects followed by hand."""
    async with httpx.AsyncClient(timeout=10.0, follow_redirects=False, trust_env=False) as client:
        yield client


def _attributes(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(";")[1:]}


async def _ours(
    dashboard: Harness, path_and_query: str, cookies: dict[str, str] | None = None
) -> httpx.Response:
    """A browser request to our service carrying exactly `cookies`."""
    dashboard.client.cookies.clear()
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    response = await dashboard.client.get(path_and_query, headers=headers)
    dashboard.client.cookies.clear()
    return response


def _location(response: httpx.Response) -> str:
    assert response.status_code in (302, 303), (response.status_code, response.text[:2000])
    return urljoin(str(response.url), response.headers["location"])


@dataclass
class AtLogin:
    """A sign-in started at our service and standing at the OP's login form."""

    state_cookie: str
    authorize_query: dict[str, str]
    auth_request_id: str
    login_url: str


@dataclass
class BackAtUs:
    """The OP sent the browser back to our redirect URI."""

    at_login: AtLogin
    callback: str  # path and query of our redirect URI, as the OP built it
    params: dict[str, str]


async def _to_login(
    dashboard: Harness, browser: httpx.AsyncClient, provider: RunningProvider
) -> AtLogin:
    start = await _ours(dashboard, "/dashboard/oidc/start?next=/dashboard")
    assert start.status_code == 302, start.text
    header = set_cookie(start, STATE_COOKIE)
    assert header is not None
    assert "path=/dashboard/oidc" in _attributes(header)
    state_cookie = cookie_value(start, STATE_COOKIE)
    assert state_cookie is not None
    authorize = start.headers["location"]
    assert authorize.startswith(provider.issuer + "auth?"), authorize
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}

    at_op = await browser.get(authorize)
    login_url = _location(at_op)
    assert urlsplit(login_url).path == "/login/username", (login_url, provider.log())
    form = await browser.get(login_url)
    assert form.status_code == 200, form.text
    found = re.search(r'name="id" value="([^"]+)"', form.text)
    assert found is not None, form.text
    return AtLogin(state_cookie, query, found[1], login_url)


async def _submit_login(
    browser: httpx.AsyncClient, at_login: AtLogin, user: User, password: str
) -> httpx.Response:
    return await browser.post(
        at_login.login_url.split("?", 1)[0],
        data={"id": at_login.auth_request_id, "username": user.username, "password": password},
    )


async def _back_at_us(
    browser: httpx.AsyncClient,
    provider: RunningProvider,
    response: httpx.Response,
    at_login: AtLogin,
) -> BackAtUs:
    """Follow the OP's redirects until they leave the OP for our redirect URI."""
    for _ in range(5):
        target = _location(response)
        if not target.startswith(provider.issuer):
            assert target.startswith(REDIRECT_URI + "?"), target
            parts = urlsplit(target)
            params = {k: v[0] for k, v in parse_qs(parts.query).items()}
            return BackAtUs(at_login, f"{parts.path}?{parts.query}", params)
        response = await browser.get(target)
    raise AssertionError(f"the OP kept redirecting; its log:\n{provider.log()}")


async def _signed_in_at_op(
    dashboard: Harness, browser: httpx.AsyncClient, provider: RunningProvider, user: User
) -> BackAtUs:
    """Start at our service, sign in at the OP with the right password, stop at our callback."""
    at_login = await _to_login(dashboard, browser, provider)
    submitted = await _submit_login(browser, at_login, user, user.password)
    assert urlsplit(_location(submitted)).path == "/auth/callback", submitted.text
    back = await _back_at_us(browser, provider, submitted, at_login)
    assert back.params["state"] == at_login.authorize_query["state"]
    assert back.params.get("code"), back.params
    return back


async def _callback(dashboard: Harness, back: BackAtUs) -> httpx.Response:
    return await _ours(dashboard, back.callback, {STATE_COOKIE: back.at_login.state_cookie})


def _verifier_of(state_cookie: str) -> str:
    """The PKCE verifier kept in our state cookie (signed, not encrypted: a test may read it)."""
    body = state_cookie.split(".")[1]
    values: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    verifier: str = values["verifier"]
    return verifier


async def _exchange_directly(
    browser: httpx.AsyncClient, provider: RunningProvider, code: str, verifier: str
) -> httpx.Response:
    """Redeem a code at the OP's token endpoint as our client (client_secret_basic)."""
    return await browser.post(
        provider.issuer + "oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(WEB_CLIENT_ID, WEB_CLIENT_SECRET),
    )


def _no_session(response: httpx.Response) -> None:
    assert cookie_value(response, COOKIE) is None, response.headers.get_list("set-cookie")
    assert "Signed in as" not in response.text


async def test_a_reader_signs_in_and_reads_the_dashboard(
    dashboard: Harness, browser: httpx.AsyncClient, provider: RunningProvider
) -> None:
    signed_out = await _ours(dashboard, "/dashboard")
    assert signed_out.status_code == 303
    back = await _signed_in_at_op(dashboard, browser, provider, ADA)
    sent = back.at_login.authorize_query
    assert sent["client_id"] == WEB_CLIENT_ID
    assert sent["code_challenge_method"] == "S256"
    assert sent["redirect_uri"] == REDIRECT_URI

    response = await _callback(dashboard, back)
    assert response.status_code == 200, (response.text, provider.log())
    assert "Signed in as <strong>oidc:ada.lovelace@example.com</strong>" in response.text
    header = set_cookie(response, COOKIE)
    assert header is not None
    assert {"httponly", "samesite=strict", "path=/dashboard"} <= _attributes(header)
    # The callback ends the state cookie whatever happens.
    cleared = set_cookie(response, STATE_COOKIE)
    assert cleared is not None
    assert cookie_value(response, STATE_COOKIE) is None
    session = cookie_value(response, COOKIE)
    assert session is not None

    page = await _ours(dashboard, "/dashboard", {COOKIE: session})
    assert page.status_code == 200, page.text
    assert "oidc:ada.lovelace@example.com" in page.text
    # Our service asked the OP for the ID token's keys and, for the e-mail, for userinfo.
    log = provider.log(limit=100_000)
    assert "path=/keys" in log
    assert "path=/userinfo" in log


async def test_a_person_not_on_the_readers_list_is_refused(
    dashboard: Harness, browser: httpx.AsyncClient, provider: RunningProvider
) -> None:
    back = await _signed_in_at_op(dashboard, browser, provider, EVE)
    response = await _callback(dashboard, back)
    assert response.status_code == 403, response.text
    assert "eve@example.net is not a reader of this dashboard" in response.text
    _no_session(response)


async def test_an_unverified_address_is_refused(
    dashboard: Harness, browser: httpx.AsyncClient, provider: RunningProvider
) -> None:
    # uma@example.org is on the list (@example.org), but the OP does not vouch for it.
    back = await _signed_in_at_op(dashboard, browser, provider, UMA)
    response = await _callback(dashboard, back)
    assert response.status_code == 401, response.text
    assert "uma@example.org is not verified" in response.text
    _no_session(response)


async def test_a_wrong_password_never_reaches_a_session(
    dashboard: Harness, browser: httpx.AsyncClient, provider: RunningProvider
) -> None:
    at_login = await _to_login(dashboard, browser, provider)
    refused = await _submit_login(browser, at_login, ADA, ADA.password + "x")
    assert refused.status_code == 200, refused.text
    assert WRONG_PASSWORD_TEXT in refused.text
    assert "location" not in refused.headers
    # A browser that skips the login step anyway is sent back with an error, and no code.
    forced = await browser.get(
        provider.issuer + "auth/callback", params={"id": at_login.auth_request_id}
    )
    back = await _back_at_us(browser, provider, forced, at_login)
    assert back.params.get("error") == "interaction_required", back.params
    assert "code" not in back.params
    response = await _callback(dashboard, back)
    assert response.status_code == 403, response.text
    assert "interaction_required" in response.text
    _no_session(response)


async def test_a_replayed_callback_is_refused_and_its_code_is_spent(
    dashboard: Harness, browser: httpx.AsyncClient, provider: RunningProvider
) -> None:
    back = await _signed_in_at_op(dashboard, browser, provider, ADA)
    first = await _callback(dashboard, back)
    assert first.status_code == 200, first.text
    assert cookie_value(first, COOKIE) is not None

    again = await _callback(dashboard, back)
    assert again.status_code == 400, again.text
    assert "already used" in again.text
    _no_session(again)
    # The OP does not take the code a second time either, even with the right verifier.
    verifier = _verifier_of(back.at_login.state_cookie)
    spent = await _exchange_directly(browser, provider, back.params["code"], verifier)
    assert spent.status_code == 400, spent.text
    assert spent.json()["error"] == "invalid_grant"


async def test_the_provider_checks_our_pkce_verifier(
    dashboard: Harness, browser: httpx.AsyncClient, provider: RunningProvider
) -> None:
    # The code is intercepted before our callback sees it: without the verifier (kept in our
    # HttpOnly cookie) it is worthless, with it the OP answers; the ID token has no e-mail.
    back = await _signed_in_at_op(dashboard, browser, provider, ADA)
    code = back.params["code"]
    verifier = _verifier_of(back.at_login.state_cookie)
    wrong = await _exchange_directly(browser, provider, code, verifier[:-2] + "xx")
    assert wrong.status_code == 400, wrong.text
    assert wrong.json()["error"] == "invalid_grant"
    right = await _exchange_directly(browser, provider, code, verifier)
    assert right.status_code == 200, right.text
    claims = jwt.decode(right.json()["id_token"], options={"verify_signature": False})
    assert claims["aud"] == [WEB_CLIENT_ID] or claims["aud"] == WEB_CLIENT_ID
    assert claims["nonce"] == back.at_login.authorize_query["nonce"]
    assert "email" not in claims
    # The code is spent now, so our callback cannot turn it into a session.
    response = await _callback(dashboard, back)
    assert response.status_code == 502, response.text
    assert "invalid_grant" in response.text
    _no_session(response)
