"""A scripted OpenID provider on a real port, for the attack cases of the OIDC sign-in only.

It publishes a discovery document and one RSA key (`PUBLISHED`), and answers the token and
userinfo endpoints with whatever the test scripted, so a test can hand the dashboard forged
ID tokens. The happy path is tested against the real zitadel provider
(tests/integration/evidence/test_dashboard_oidc.py), not this double.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CLIENT_ID = "aigov-dashboard"
CLIENT_SECRET = "client-secret-0123456789abcdef-0123456789"
PUBLISHED_KID = "published-1"
PUBLISHED = rsa.generate_private_key(public_exponent=65537, key_size=2048)
UNPUBLISHED = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class FakeProvider:
    """What the provider answers, and what it was asked."""

    issuer: str
    token_response: dict[str, Any] = field(default_factory=dict)
    token_status: int = 200
    userinfo: dict[str, Any] | None = None
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    jwks_fetches: int = 0

    def sign(
        self,
        claims: dict[str, Any],
        *,
        key: Any = PUBLISHED,
        kid: str | None = PUBLISHED_KID,
        algorithm: str = "RS256",
    ) -> str:
        """An ID token with `claims` signed by `key` (the published key by default)."""
        headers = {"kid": kid} if kid is not None else {}
        return jwt.encode(claims, key, algorithm=algorithm, headers=headers)

    def claims(self, sent_nonce: str, /, **changes: Any) -> dict[str, Any]:
        """The claims of a valid ID token for ada@example.com (verified), with `changes`."""
        now = int(time.time())
        values: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "user-ada",
            "aud": CLIENT_ID,
            "exp": now + 300,
            "iat": now,
            "nonce": sent_nonce,
            "email": "ada@example.com",
            "email_verified": True,
        }
        values.update(changes)
        return {name: value for name, value in values.items() if value is not None}

    def answer_with(self, id_token: str) -> None:
        """Answer the next token request with `id_token`."""
        self.token_response = {
            "access_token": "at-0123456789",
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }

    def app(self) -> Starlette:
        """The provider's endpoints."""

        async def discovery(request: Request) -> Response:
            base = self.issuer.rstrip("/")
            return JSONResponse(
                {
                    "issuer": self.issuer,
                    "authorization_endpoint": f"{base}/authorize",
                    "token_endpoint": f"{base}/token",
                    "userinfo_endpoint": f"{base}/userinfo",
                    "jwks_uri": f"{base}/keys",
                    "response_types_supported": ["code"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                }
            )

        async def keys(request: Request) -> Response:
            self.jwks_fetches += 1
            jwk = jwt.PyJWK.from_dict(
                {**_public_jwk(PUBLISHED), "kid": PUBLISHED_KID, "use": "sig", "alg": "RS256"}
            )
            return JSONResponse({"keys": [jwk._jwk_data]})

        async def token(request: Request) -> Response:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            self.token_requests.append(
                {"form": form, "authorization": request.headers.get("authorization")}
            )
            return JSONResponse(self.token_response, status_code=self.token_status)

        async def userinfo(request: Request) -> Response:
            if self.userinfo is None:
                return JSONResponse({"error": "invalid_token"}, status_code=401)
            return JSONResponse(self.userinfo)

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/keys", keys),
                Route("/token", token, methods=["POST"]),
                Route("/userinfo", userinfo),
            ]
        )


def _public_jwk(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return jwk


@contextmanager
def running_fake_provider() -> Iterator[FakeProvider]:
    """A FakeProvider served by uvicorn on a free loopback port until the block ends."""
    port = free_port()
    provider = FakeProvider(issuer=f"http://127.0.0.1:{port}/")
    config = uvicorn.Config(
        provider.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fake OpenID provider did not start within 10 s")
        time.sleep(0.02)
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)
