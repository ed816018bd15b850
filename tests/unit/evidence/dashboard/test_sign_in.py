"""Attacks on the dashboard's sign-in and session: nothing is shown without a valid session.

Every page redirects a signed-out visitor; wrong, publisher and owner tokens are refused; the
cookie is HttpOnly, SameSite=Strict, scoped to /dashboard, Secure on https, 8 h, and holds no
token; forged, edited, expired and withdrawn-token cookies are refused; sign-out needs the
session's CSRF token; sign-in from another origin is refused; attempts are rate-limited.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from aigov_evidence.api.deps import clock
from aigov_evidence.dashboard.session import COOKIE
from aigov_runtime.auth import Principal, Role, TokenRegistry, install_token_registry
from tests.unit.evidence.conftest import embedded_settings
from tests.unit.evidence.dashboard.helpers import (
    ORIGIN,
    PAGES,
    body_of,
    cookie_header,
    sign_in,
    sign_in_response,
)
from tests.unit.evidence.harness import OWNER, PUBLISHER, READER, Harness

pytestmark = pytest.mark.asyncio


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _is_sign_in_redirect(response: object) -> bool:
    status = getattr(response, "status_code", None)
    headers = getattr(response, "headers", {})
    return status == 303 and str(headers.get("location", "")).startswith("/dashboard/sign-in")


class TestSignedOut:
    @pytest.mark.parametrize("path", PAGES)
    async def test_every_page_redirects_to_sign_in(self, evidence: Harness, path: str) -> None:
        response = await evidence.client.get(path)
        assert _is_sign_in_redirect(response), (response.status_code, response.text)
        assert "support-summarizer" not in response.text
        assert response.headers["cache-control"] == "no-store"

    async def test_the_redirect_remembers_the_page_but_never_leaves_the_site(
        self, evidence: Harness
    ) -> None:
        response = await evidence.client.get("/dashboard/queues")
        assert response.headers["location"] == "/dashboard/sign-in?next=%2Fdashboard%2Fqueues"
        # A `next` that would leave the site is refused (422), not followed.
        for target in ("https://evil.example/", "//evil.example/dashboard", "/v1/systems"):
            page = await evidence.client.get("/dashboard/sign-in", params={"next": target})
            assert page.status_code == 422, target
        # Nor does the sign-in form follow one: it goes to the register instead.
        for target in ("//evil.example", "https://evil.example/dashboard", "/dashboard\\x"):
            signed_in = await sign_in_response(evidence, READER, next_page=target)
            assert signed_in.status_code == 303
            assert signed_in.headers["location"] == "/dashboard", target
        signed_in = await sign_in_response(evidence, READER, next_page="/dashboard/queues")
        assert signed_in.headers["location"] == "/dashboard/queues"

    async def test_the_sign_in_page_and_assets_need_no_session(self, evidence: Harness) -> None:
        page = await evidence.client.get("/dashboard/sign-in")
        assert page.status_code == 200
        assert 'name="token"' in page.text
        css = await evidence.client.get("/dashboard/static/dashboard.css")
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")
        missing = await evidence.client.get("/dashboard/static/../settings.py")
        assert missing.status_code == 404
        assert (await evidence.client.get("/dashboard/static/nope.js")).status_code == 404

    async def test_pages_send_the_security_headers(self, evidence: Harness) -> None:
        page = await evidence.client.get("/dashboard/sign-in")
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["referrer-policy"] == "same-origin"
        assert page.headers["cache-control"] == "no-store"
        assert "<script" not in page.text


class TestSignIn:
    async def test_a_reader_token_opens_a_session(self, evidence: Harness) -> None:
        cookie = await sign_in(evidence, READER)
        assert cookie is not None
        page = await evidence.client.get("/dashboard", headers=cookie_header(cookie))
        assert page.status_code == 200
        assert "dashboard" in page.text  # the principal's name in the header

    async def test_a_wrong_token_is_refused(self, evidence: Harness) -> None:
        response = await sign_in_response(evidence, "tok-not-a-token-0123456789")
        assert response.status_code == 401
        assert "not valid" in response.text
        assert COOKIE not in response.headers.get("set-cookie", "")

    @pytest.mark.parametrize("token", [PUBLISHER, OWNER])
    async def test_a_token_without_the_reader_role_is_refused_clearly(
        self, evidence: Harness, token: str
    ) -> None:
        response = await sign_in_response(evidence, token)
        assert response.status_code == 403
        assert "reader" in response.text
        assert COOKIE not in response.headers.get("set-cookie", "")

    async def test_an_empty_or_huge_token_is_a_readable_400(self, evidence: Harness) -> None:
        assert (await sign_in_response(evidence, "")).status_code == 400
        assert (await sign_in_response(evidence, "x" * 600)).status_code == 400

    async def test_a_json_body_is_refused(self, evidence: Harness) -> None:
        response = await evidence.client.post(
            "/dashboard/sign-in", json={"token": READER}, headers={"Origin": ORIGIN}
        )
        assert response.status_code == 400
        assert COOKIE not in response.headers.get("set-cookie", "")

    @pytest.mark.parametrize(
        "headers",
        [
            {"Origin": "http://evil.example"},
            {"Origin": "null"},
            {"Origin": "http://testserver.evil.example"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site"},
            {},
        ],
    )
    async def test_sign_in_from_another_origin_is_refused(
        self, evidence: Harness, headers: dict[str, str]
    ) -> None:
        response = await evidence.client.post(
            "/dashboard/sign-in", data={"token": READER}, headers=headers
        )
        assert response.status_code == 403
        assert "not sent from this site" in response.text
        assert COOKIE not in response.headers.get("set-cookie", "")

    async def test_fetch_metadata_same_origin_is_enough_without_origin(
        self, evidence: Harness
    ) -> None:
        response = await evidence.client.post(
            "/dashboard/sign-in", data={"token": READER}, headers={"Sec-Fetch-Site": "same-origin"}
        )
        assert response.status_code == 303

    async def test_sign_in_attempts_are_rate_limited_per_address(self, evidence: Harness) -> None:
        statuses = [
            (await sign_in_response(evidence, f"tok-guess-{i:020d}")).status_code for i in range(12)
        ]
        assert statuses[:10] == [401] * 10
        assert statuses[10:] == [429, 429]
        limited = await sign_in_response(evidence, READER)
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1


class TestCookie:
    async def test_cookie_flags(self, evidence: Harness) -> None:
        response = await sign_in_response(evidence, READER)
        assert response.status_code == 303
        assert response.headers["location"] == "/dashboard"
        set_cookie = response.headers["set-cookie"]
        attributes = [part.strip().lower() for part in set_cookie.split(";")]
        assert attributes[0].startswith(f"{COOKIE}=")
        assert "httponly" in attributes
        assert "samesite=strict" in attributes
        assert "path=/dashboard" in attributes
        assert "max-age=28800" in attributes
        assert "secure" not in attributes  # plain http here
        # The cookie holds no token, not even its digest.
        value = set_cookie.split(";")[0].split("=", 1)[1]
        assert READER not in value
        payload = json.loads(_unb64(value.split(".")[1]))
        assert payload["sub"] == "dashboard"
        assert hashlib.sha256(READER.encode()).hexdigest() not in json.dumps(payload)
        assert _b64(hashlib.sha256(READER.encode()).digest()) not in json.dumps(payload)

    async def test_cookie_is_secure_on_https(self, evidence: Harness) -> None:
        response = await evidence.client.post(
            "https://testserver/dashboard/sign-in",
            data={"token": READER},
            headers={"Origin": "https://testserver"},
        )
        assert response.status_code == 303
        attributes = [p.strip().lower() for p in response.headers["set-cookie"].split(";")]
        assert "secure" in attributes

    async def test_a_forged_cookie_is_refused(self, evidence: Harness) -> None:
        payload = _b64(
            json.dumps(
                {"sub": "dashboard", "exp": 2**40, "tok": _b64(b"x" * 32), "sid": "a"}
            ).encode()
        )
        signature = _b64(hmac.new(b"guessed", f"v1.{payload}".encode(), "sha256").digest())
        for forged in (f"v1.{payload}.{signature}", "garbage", "v1..", "v1.a.b.c", "x" * 5000):
            response = await evidence.client.get("/dashboard", headers=cookie_header(forged))
            assert _is_sign_in_redirect(response), forged[:40]

    async def test_an_edited_cookie_is_refused(self, evidence: Harness) -> None:
        cookie = await sign_in(evidence, READER)
        assert cookie is not None
        version, body, signature = cookie.split(".")
        payload = json.loads(_unb64(body))
        for change in ({"sub": "admin"}, {"exp": payload["exp"] + 3600}):
            edited = _b64(json.dumps({**payload, **change}).encode())
            response = await evidence.client.get(
                "/dashboard", headers=cookie_header(f"{version}.{edited}.{signature}")
            )
            assert _is_sign_in_redirect(response), change
        flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
        response = await evidence.client.get(
            "/dashboard", headers=cookie_header(f"{version}.{body}.{flipped}")
        )
        assert _is_sign_in_redirect(response)

    async def test_an_expired_cookie_is_refused(self, evidence: Harness) -> None:
        cookie = await sign_in(evidence, READER)
        assert cookie is not None
        later = datetime.now(UTC) + timedelta(hours=8, minutes=1)
        evidence.app.dependency_overrides[clock] = lambda: later
        try:
            response = await evidence.client.get("/dashboard", headers=cookie_header(cookie))
            assert _is_sign_in_redirect(response)
        finally:
            evidence.app.dependency_overrides.clear()
        # Within its 8 hours it still works.
        response = await evidence.client.get("/dashboard", headers=cookie_header(cookie))
        assert response.status_code == 200

    async def test_a_cookie_whose_token_was_withdrawn_is_refused(self, evidence: Harness) -> None:
        cookie = await sign_in(evidence, READER)
        assert cookie is not None
        other = "tok-other-reader-0123456789"
        install_token_registry(
            evidence.app,
            TokenRegistry({other: Principal("dashboard", frozenset({Role.READER}))}),
        )
        response = await evidence.client.get("/dashboard", headers=cookie_header(cookie))
        assert _is_sign_in_redirect(response)

    async def test_a_cookie_whose_token_now_names_someone_else_is_refused(
        self, evidence: Harness
    ) -> None:
        cookie = await sign_in(evidence, READER)
        assert cookie is not None
        install_token_registry(
            evidence.app,
            TokenRegistry({READER: Principal("someone-else", frozenset({Role.READER}))}),
        )
        response = await evidence.client.get("/dashboard", headers=cookie_header(cookie))
        assert _is_sign_in_redirect(response)

    async def test_a_cookie_whose_token_lost_the_reader_role_is_refused(
        self, evidence: Harness
    ) -> None:
        cookie = await sign_in(evidence, READER)
        assert cookie is not None
        install_token_registry(
            evidence.app,
            TokenRegistry({READER: Principal("dashboard", frozenset({Role.PUBLISHER}))}),
        )
        response = await evidence.client.get("/dashboard", headers=cookie_header(cookie))
        assert _is_sign_in_redirect(response)


class TestSignOut:
    async def test_sign_out_needs_the_sessions_csrf_token(self, evidence: Harness) -> None:
        cookie = await sign_in(evidence, READER)
        assert cookie is not None
        headers = {**cookie_header(cookie), "Origin": ORIGIN}
        for data in ({}, {"csrf": "wrong"}, {"csrf": ""}):
            refused = await evidence.client.post("/dashboard/sign-out", data=data, headers=headers)
            assert refused.status_code == 403, data
            assert "CSRF" in refused.text
            assert "set-cookie" not in refused.headers
        page = await evidence.client.get("/dashboard", headers=cookie_header(cookie))
        csrf = body_of(page).split('name="csrf" value="', 1)[1].split('"', 1)[0]
        # Another session's CSRF token does not sign this one out.
        second = await sign_in(evidence, READER)
        assert second is not None
        other_page = await evidence.client.get("/dashboard", headers=cookie_header(second))
        other_csrf = body_of(other_page).split('name="csrf" value="', 1)[1].split('"', 1)[0]
        assert other_csrf != csrf
        refused = await evidence.client.post(
            "/dashboard/sign-out", data={"csrf": other_csrf}, headers=headers
        )
        assert refused.status_code == 403
        done = await evidence.client.post(
            "/dashboard/sign-out", data={"csrf": csrf}, headers=headers
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/dashboard/sign-in"
        cleared = [p.strip().lower() for p in done.headers["set-cookie"].split(";")]
        assert cleared[0] in (f'{COOKIE}=""', f"{COOKIE}=")
        assert "max-age=0" in cleared
        assert "path=/dashboard" in cleared

    async def test_sign_out_without_a_session_redirects(self, evidence: Harness) -> None:
        response = await evidence.client.post("/dashboard/sign-out", data={"csrf": "x"})
        assert _is_sign_in_redirect(response)


class TestSecret:
    async def test_the_configured_secret_signs_sessions(self, evidence: Harness) -> None:
        default = evidence.app.state.settings
        first = default.model_copy(
            update={"evidence_dashboard_session_secret": SecretStr("a" * 32)}
        )
        second = default.model_copy(
            update={"evidence_dashboard_session_secret": SecretStr("b" * 32)}
        )
        try:
            evidence.app.state.settings = first
            cookie = await sign_in(evidence, READER)
            assert cookie is not None
            ok = await evidence.client.get("/dashboard", headers=cookie_header(cookie))
            assert ok.status_code == 200
            # Another replica with another secret (or a restart without one) does not accept it.
            evidence.app.state.settings = second
            other = await evidence.client.get("/dashboard", headers=cookie_header(cookie))
            assert _is_sign_in_redirect(other)
            evidence.app.state.settings = default
            unset = await evidence.client.get("/dashboard", headers=cookie_header(cookie))
            assert _is_sign_in_redirect(unset)
        finally:
            evidence.app.state.settings = default

    async def test_a_short_secret_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ValidationError, match="evidence_dashboard_session_secret"):
            embedded_settings(tmp_path, evidence_dashboard_session_secret="too-short")
