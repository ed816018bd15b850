"""Attacks on the dashboard's OIDC sign-in: no session unless every check of the answer holds.

The provider is a scripted double on a real port (oidc_fake.py) so forged ID tokens can be
handed to the callback; the happy path against a real provider is the integration test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
import pytest_asyncio

from aigov_evidence.dashboard.session import COOKIE
from tests.unit.evidence.conftest import embedded_settings
from tests.unit.evidence.dashboard.helpers import cookie_value, set_cookie, sign_in_response
from tests.unit.evidence.dashboard.oidc_fake import (
    CLIENT_ID,
    CLIENT_SECRET,
    UNPUBLISHED,
    FakeProvider,
    free_port,
    running_fake_provider,
)
from tests.unit.evidence.harness import READER, Harness, serve

pytestmark = pytest.mark.asyncio

STATE_COOKIE = "aigov_dashboard_oidc"
REDIRECT_URI = "http://localhost/dashboard/oidc/callback"


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeProvider]:
    with running_fake_provider() as running:
        yield running


def _oidc_settings(tmp_path: Path, issuer: str, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "evidence_dashboard_oidc_issuer": issuer,
        "evidence_dashboard_oidc_client_id": CLIENT_ID,
        "evidence_dashboard_oidc_client_secret": CLIENT_SECRET,
        "evidence_dashboard_oidc_redirect_uri": REDIRECT_URI,
        "evidence_dashboard_oidc_readers": ["ada@example.com", "@example.org"],
        "evidence_dashboard_oidc_provider_name": "Example ID",
    }
    values.update(overrides)
    return embedded_settings(tmp_path, **values)


@pytest_asyncio.fixture
async def oidc(provider: FakeProvider, tmp_path: Path) -> AsyncIterator[Harness]:
    provider.userinfo = None
    provider.token_status = 200
    provider.token_requests.clear()
    async with serve(_oidc_settings(tmp_path, provider.issuer)) as harness:
        yield harness


async def _start(harness: Harness, next_page: str | None = None) -> tuple[str, dict[str, str]]:
    """Begin a sign-in: the state cookie and the parameters sent to the provider."""
    params = {"next": next_page} if next_page else {}
    response = await harness.client.get("/dashboard/oidc/start", params=params)
    harness.client.cookies.clear()
    assert response.status_code == 302, response.text
    cookie = cookie_value(response, STATE_COOKIE)
    assert cookie is not None
    query = parse_qs(urlsplit(response.headers["location"]).query)
    return cookie, {name: values[0] for name, values in query.items()}


async def _callback(harness: Harness, cookie: str | None, **params: str) -> httpx.Response:
    headers = {"Cookie": f"{STATE_COOKIE}={cookie}"} if cookie is not None else {}
    response = await harness.client.get("/dashboard/oidc/callback", params=params, headers=headers)
    harness.client.cookies.clear()
    return response


async def _sign_in_with(
    harness: Harness, provider: FakeProvider, forge: Any
) -> tuple[httpx.Response, dict[str, str]]:
    """Run start + callback with the ID token `forge(nonce)`; the callback's response."""
    cookie, sent = await _start(harness)
    provider.answer_with(forge(sent["nonce"]))
    response = await _callback(harness, cookie, code="code-1", state=sent["state"])
    return response, sent


def _refused(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 600, response.text
    assert response.status_code != 500, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert cookie_value(response, COOKIE) is None
    assert "Traceback" not in response.text


class TestTheHonestPath:
    async def test_a_reader_gets_a_session_and_the_protocol_is_followed(
        self, oidc: Harness, provider: FakeProvider
    ) -> None:
        response, sent = await _sign_in_with(
            oidc, provider, lambda n: provider.sign(provider.claims(n))
        )
        assert response.status_code == 200, response.text
        session = cookie_value(response, COOKIE)
        assert session is not None
        page = await oidc.client.get("/dashboard", headers={"Cookie": f"{COOKIE}={session}"})
        assert page.status_code == 200
        assert "oidc:ada@example.com" in page.text
        # Authorization request: code flow, our client, PKCE S256, fresh state and nonce.
        assert sent["response_type"] == "code"
        assert sent["client_id"] == CLIENT_ID
        assert sent["redirect_uri"] == REDIRECT_URI
        assert sent["scope"] == "openid email profile"
        assert sent["code_challenge_method"] == "S256"
        assert len(sent["state"]) >= 32
        assert len(sent["nonce"]) >= 32
        # Token request: client_secret_basic, and the verifier that hashes to the challenge.
        request = provider.token_requests[-1]
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        assert request["authorization"] == f"Basic {basic}"
        verifier = request["form"]["code_verifier"]
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        assert challenge.decode().rstrip("=") == sent["code_challenge"]
        assert request["form"]["grant_type"] == "authorization_code"
        assert request["form"]["code"] == "code-1"
        # The state cookie is single use: the callback clears it.
        cleared = set_cookie(response, STATE_COOKIE)
        assert cleared is not None
        assert "Max-Age=0" in cleared

    async def test_the_state_cookie_is_short_lived_lax_and_scoped(self, oidc: Harness) -> None:
        response = await oidc.client.get("/dashboard/oidc/start")
        oidc.client.cookies.clear()
        header = set_cookie(response, STATE_COOKIE)
        assert header is not None
        lowered = header.lower()
        assert "httponly" in lowered
        assert "samesite=lax" in lowered
        assert "path=/dashboard/oidc" in lowered
        assert "max-age=600" in lowered

    async def test_the_email_can_come_from_userinfo(
        self, oidc: Harness, provider: FakeProvider
    ) -> None:
        provider.userinfo = {"sub": "user-ada", "email": "bob@example.org", "email_verified": True}
        response, _ = await _sign_in_with(
            oidc,
            provider,
            lambda n: provider.sign(provider.claims(n, email=None, email_verified=None)),
        )
        assert response.status_code == 200, response.text
        assert "oidc:bob@example.org" in response.text

    async def test_next_is_followed_only_inside_the_dashboard(
        self, oidc: Harness, provider: FakeProvider
    ) -> None:
        for target in ("https://evil.example/", "//evil.example/dashboard", "/v1/systems"):
            response = await oidc.client.get("/dashboard/oidc/start", params={"next": target})
            assert response.status_code == 422, target
            assert cookie_value(response, STATE_COOKIE) is None
        cookie, sent = await _start(oidc, "/dashboard/queues")
        provider.answer_with(provider.sign(provider.claims(sent["nonce"])))
        response = await _callback(oidc, cookie, code="c", state=sent["state"])
        assert response.status_code == 200
        assert 'url=/dashboard/queues"' in response.text


class TestStateAttacks:
    async def test_missing_or_wrong_state_is_refused(
        self, oidc: Harness, provider: FakeProvider
    ) -> None:
        cookie, sent = await _start(oidc)
        provider.answer_with(provider.sign(provider.claims(sent["nonce"])))
        _refused(await _callback(oidc, cookie, code="c"))
        _refused(await _callback(oidc, cookie, code="c", state=sent["state"][:-1] + "x"))
        _refused(await _callback(oidc, None, code="c", state=sent["state"]))
        _refused(await _callback(oidc, cookie + "x", code="c", state=sent["state"]))
        assert provider.token_requests == []

    async def test_a_replayed_callback_is_refused(
        self, oidc: Harness, provider: FakeProvider
    ) -> None:
        cookie, sent = await _start(oidc)
        provider.answer_with(provider.sign(provider.claims(sent["nonce"])))
        first = await _callback(oidc, cookie, code="c", state=sent["state"])
        assert first.status_code == 200
        # The browser lost the cookie; an attacker who kept it is refused as well.
        _refused(await _callback(oidc, None, code="c", state=sent["state"]))
        again = await _callback(oidc, cookie, code="c", state=sent["state"])
        _refused(again)
        assert "already" in again.text

    async def test_a_provider_error_is_shown_as_a_page(self, oidc: Harness) -> None:
        cookie, sent = await _start(oidc)
        response = await _callback(
            oidc,
            cookie,
            state=sent["state"],
            error="access_denied",
            error_description="<b>user said no</b>",
        )
        _refused(response)
        assert response.status_code == 403
        assert "access_denied" in response.text
        assert "<b>user said no</b>" not in response.text  # escaped

    async def test_a_mixed_up_issuer_in_the_redirect_is_refused(
        self, oidc: Harness, provider: FakeProvider
    ) -> None:
        cookie, sent = await _start(oidc)
        provider.answer_with(provider.sign(provider.claims(sent["nonce"])))
        _refused(
            await _callback(
                oidc, cookie, code="c", state=sent["state"], iss="https://evil.example/"
            )
        )


def _at_run_time(changes: dict[str, Any]) -> dict[str, Any]:
    """The claim changes with each `("now", offset)` made a time `offset` seconds from now."""
    now = int(time.time())
    return {
        name: now + value[1] if isinstance(value, tuple) and value[:1] == ("now",) else value
        for name, value in changes.items()
    }


class TestForgedTokens:
    @pytest.mark.parametrize(
        "changes",
        [
            pytest.param({"nonce": "not-the-nonce"}, id="nonce-mismatch"),
            pytest.param({"nonce": None}, id="nonce-missing"),
            pytest.param({"aud": "someone-else"}, id="wrong-audience"),
            pytest.param({"aud": [CLIENT_ID, "other"]}, id="extra-audience-without-azp"),
            pytest.param({"azp": "other"}, id="wrong-azp"),
            pytest.param({"iss": "https://evil.example/"}, id="wrong-issuer"),
            # Times are offsets from when the test runs (the suite may run long after it is
            # collected), resolved by `_at_run_time`.
            pytest.param({"exp": ("now", -120)}, id="expired"),
            pytest.param({"iat": ("now", 600)}, id="issued-in-the-future"),
            pytest.param({"iat": None}, id="no-iat"),
            pytest.param({"email_verified": False}, id="unverified-email"),
            pytest.param({"email_verified": "true"}, id="email-verified-as-a-string"),
        ],
    )
    async def test_a_token_with_a_bad_claim_is_refused(
        self, oidc: Harness, provider: FakeProvider, changes: dict[str, Any]
    ) -> None:
        claims = _at_run_time(changes)
        response, _ = await _sign_in_with(
            oidc, provider, lambda n: provider.sign(provider.claims(n, **claims))
        )
        _refused(response)

    async def test_a_key_the_provider_does_not_publish_is_refused(
        self, oidc: Harness, provider: FakeProvider
    ) -> None:
        for kid in ("published-1", "rotated-2"):
            response, _ = await _sign_in_with(
                oidc,
                provider,
                lambda n, kid=kid: provider.sign(provider.claims(n), key=UNPUBLISHED, kid=kid),
            )
            _refused(response)
            assert response.status_code == 401

    async def test_an_unknown_kid_refetches_the_keys_once_at_most(
        self, oidc: Harness, provider: FakeProvider
    ) -> None:
        before = provider.jwks_fetches
        for _ in range(3):
            response, _ = await _sign_in_with(
                oidc, provider, lambda n: provider.sign(provider.claims(n), kid="unknown-kid")
            )
            _refused(response)
        assert provider.jwks_fetches - before <= 2

    async def test_alg_none_is_refused(self, oidc: Harness, provider: FakeProvider) -> None:
        def unsigned(nonce: str) -> str:
            def b64(data: dict[str, Any]) -> str:
                raw = json.dumps(data).encode()
                return base64.urlsafe_b64encode(raw).decode().rstrip("=")

            header = {"alg": "none", "typ": "JWT", "kid": "published-1"}
            return f"{b64(header)}.{b64(provider.claims(nonce))}."

        response, _ = await _sign_in_with(oidc, provider, unsigned)
        _refused(response)

    async def test_hs256_signed_with_the_client_secret_is_refused(
        self, oidc: Harness, provider: FakeProvider
    ) -> None:
        response, _ = await _sign_in_with(
            oidc,
            provider,
            lambda n: jwt.encode(
                provider.claims(n), CLIENT_SECRET, algorithm="HS256", headers={"kid": "published-1"}
            ),
        )
        _refused(response)

    async def test_userinfo_for_another_subject_is_refused(
        self, oidc: Harness, provider: FakeProvider
    ) -> None:
        provider.userinfo = {
            "sub": "user-mallory",
            "email": "ada@example.com",
            "email_verified": True,
        }
        response, _ = await _sign_in_with(
            oidc,
            provider,
            lambda n: provider.sign(provider.claims(n, email=None, email_verified=None)),
        )
        _refused(response)

    async def test_garbage_from_the_token_endpoint_is_a_readable_502(
        self, oidc: Harness, provider: FakeProvider
    ) -> None:
        provider.token_status = 400
        response, _ = await _sign_in_with(oidc, provider, lambda n: "x")
        _refused(response)
        assert response.status_code == 502
        provider.token_status = 200
        cookie, sent = await _start(oidc)
        provider.token_response = {"access_token": "a", "token_type": "Bearer"}  # no id_token
        response = await _callback(oidc, cookie, code="c", state=sent["state"])
        _refused(response)
        assert response.status_code == 502


class TestReaders:
    @pytest.mark.parametrize(
        "email",
        ["eve@example.com", "bob@sub.example.org", "bob@example.org.evil", "ada@example.co"],
    )
    async def test_someone_outside_the_readers_gets_403_naming_the_address(
        self, oidc: Harness, provider: FakeProvider, email: str
    ) -> None:
        response, _ = await _sign_in_with(
            oidc, provider, lambda n: provider.sign(provider.claims(n, email=email))
        )
        _refused(response)
        assert response.status_code == 403
        assert email in response.text
        assert "AIGOV_EVIDENCE_DASHBOARD_OIDC_READERS" in response.text

    async def test_a_whole_domain_may_read(self, oidc: Harness, provider: FakeProvider) -> None:
        response, _ = await _sign_in_with(
            oidc, provider, lambda n: provider.sign(provider.claims(n, email="Bob@Example.ORG"))
        )
        assert response.status_code == 200
        assert cookie_value(response, COOKIE) is not None

    async def test_removing_a_reader_ends_their_session(
        self, oidc: Harness, provider: FakeProvider
    ) -> None:
        response, _ = await _sign_in_with(
            oidc, provider, lambda n: provider.sign(provider.claims(n))
        )
        session = cookie_value(response, COOKIE)
        headers = {"Cookie": f"{COOKIE}={session}"}
        assert (await oidc.client.get("/dashboard", headers=headers)).status_code == 200
        oidc.app.state.settings = oidc.settings.model_copy(
            update={"evidence_dashboard_oidc_readers": ["@example.org"]}
        )
        page = await oidc.client.get("/dashboard", headers=headers)
        assert page.status_code == 303
        assert page.headers["location"].startswith("/dashboard/sign-in")


class TestAvailability:
    async def test_a_provider_that_is_down_gives_a_readable_page(self, tmp_path: Path) -> None:
        issuer = f"http://127.0.0.1:{free_port()}/"
        async with serve(_oidc_settings(tmp_path, issuer)) as harness:
            response = await harness.client.get("/dashboard/oidc/start")
            _refused(response)
            assert response.status_code == 503
            assert "identity provider" in response.text.lower()
            # The token form still works beside it.
            page = await harness.client.get("/dashboard/sign-in")
            assert 'name="token"' in page.text
            assert "Sign in with Example ID" in page.text

    async def test_without_oidc_the_routes_are_404_and_no_button(self, evidence: Harness) -> None:
        assert (await evidence.client.get("/dashboard/oidc/start")).status_code == 404
        callback = await evidence.client.get(
            "/dashboard/oidc/callback", params={"code": "c", "state": "s"}
        )
        assert callback.status_code == 404
        page = await evidence.client.get("/dashboard/sign-in")
        assert "Sign in with" not in page.text


class TestCost:
    async def test_starts_and_callbacks_share_the_sign_in_budget(self, oidc: Harness) -> None:
        # Every start and callback can cost calls to the provider: a client that loops on them
        # is held to the token form's budget (10 at once, then one every 6 s), and vice versa.
        statuses = [(await oidc.client.get("/dashboard/oidc/start")).status_code for _ in range(10)]
        oidc.client.cookies.clear()
        assert statuses == [302] * 10
        start = await oidc.client.get("/dashboard/oidc/start")
        assert start.status_code == 429
        assert int(start.headers["retry-after"]) >= 1
        assert "location" not in start.headers
        callback = await _callback(oidc, None, code="c", state="s")
        assert callback.status_code == 429
        _refused(callback)
        assert (await sign_in_response(oidc, READER)).status_code == 429
