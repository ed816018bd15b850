"""OpenID Connect for the dashboard: the provider's documents, the code exchange, the ID token.

The relying-party side of the authorization code flow (PKCE S256, `state`, `nonce`), with
nothing taken on trust from the network:

- discovery from `<issuer>/.well-known/openid-configuration`, cached for an hour; its
  `issuer` must be the configured one (a configured `https://host` equals `https://host/`,
  since the URL setting adds the root path; nothing else is normalised);
- the JWKS from `jwks_uri`, cached for an hour and fetched again once when a token names an
  unknown `kid` (at most every `KEY_REFETCH_INTERVAL`, so forged tokens cannot make us hammer
  the provider);
- ID tokens signed with RS256, ES256 or EdDSA only (never `none`, never an HMAC a client
  secret could forge), with `iss`, `aud`, `exp`, `iat` (60 s leeway), `nonce` and `azp`
  checked; the e-mail comes from the ID token, or from userinfo for the same `sub`, and must
  be verified (`email_verified` is the JSON value `true`).

Every call has a 5 s timeout and reads at most `MAX_RESPONSE_BYTES`; a provider that cannot be
reached raises `ProviderUnavailable`, one that answers nonsense raises `ProviderError`, and a
token that fails a check raises `TokenRejected`. Nothing here knows about pages or cookies.
"""

from __future__ import annotations

import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote_plus, urlsplit

import httpx
import jwt

from aigov_evidence.settings import Settings

TIMEOUT_SECONDS: Final = 5.0
MAX_RESPONSE_BYTES: Final = 256 * 1024
DOCUMENT_TTL_SECONDS: Final = 3600.0
KEY_REFETCH_INTERVAL: Final = 30.0
LEEWAY_SECONDS: Final = 60
MAX_EMAIL_CHARS: Final = 254
#: The signature algorithms an ID token may use, and the key type each needs.
ALGORITHMS: Final = {"RS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}


class ProviderUnavailable(Exception):
    """The identity provider could not be reached (or did not answer in time)."""


class ProviderError(Exception):
    """The identity provider answered something that is not a valid protocol answer."""


class TokenRejected(Exception):
    """An ID token (or userinfo answer) failed a check; the message says which."""


@dataclass(frozen=True, slots=True)
class OidcConfig:
    """The configured relying party."""

    issuer: str
    client_id: str
    client_secret: str | None
    redirect_uri: str
    scopes: str
    readers: tuple[str, ...]
    provider_name: str


def config_of(settings: Settings) -> OidcConfig | None:
    """The OIDC configuration of the settings (None: OIDC sign-in is not configured)."""
    issuer = settings.evidence_dashboard_oidc_issuer
    client_id = settings.evidence_dashboard_oidc_client_id
    redirect_uri = settings.evidence_dashboard_oidc_redirect_uri
    if issuer is None or client_id is None or redirect_uri is None:
        return None
    secret = settings.evidence_dashboard_oidc_client_secret
    return OidcConfig(
        issuer=str(issuer),
        client_id=client_id,
        client_secret=secret.get_secret_value() if secret is not None else None,
        redirect_uri=str(redirect_uri),
        scopes=settings.evidence_dashboard_oidc_scopes,
        readers=tuple(settings.evidence_dashboard_oidc_readers),
        provider_name=settings.evidence_dashboard_oidc_provider_name or (issuer.host or "OIDC"),
    )


def is_reader(email: str, readers: list[str] | tuple[str, ...]) -> bool:
    """Whether the address is on the allow-list: listed exactly, or its domain as `@domain`."""
    address = email.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return False
    found = False
    for entry in readers:
        # Every entry is compared (no early exit), in constant time.
        wanted = f"@{domain}" if entry.startswith("@") else address
        found |= hmac.compare_digest(entry.encode(), wanted.encode())
    return found


@dataclass(frozen=True, slots=True)
class Discovery:
    """What the dashboard uses of the provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None


@dataclass(frozen=True, slots=True)
class Identity:
    """Who signed in: the provider's subject and the verified e-mail address (lower case)."""

    subject: str
    email: str


def _same_issuer(configured: str, declared: str) -> bool:
    if configured == declared:
        return True
    # AnyHttpUrl turns `https://host` into `https://host/`; a provider may declare either.
    parts = urlsplit(configured)
    return parts.path == "/" and not parts.query and configured[:-1] == declared


def _endpoint(document: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = document.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or urlsplit(value).scheme not in ("https", "http"):
        raise ProviderError(f"the discovery document has no valid {name!r}")
    return value


@dataclass
class Provider:
    """One identity provider: its cached documents and the calls made to it."""

    config: OidcConfig
    _discovery: Discovery | None = None
    _discovered_at: float = 0.0
    _keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    _keys_at: float = -1e9

    async def _get_json(self, url: str, *, method: str = "GET", **kwargs: Any) -> tuple[int, Any]:
        """Status and JSON body of one bounded call."""
        try:
            async with (
                httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client,
                client.stream(method, url, **kwargs) as response,
            ):
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise ProviderError(f"the answer of {url} is larger than we accept")
                status = response.status_code
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{url}: {type(exc).__name__}") from None
        try:
            return status, json.loads(bytes(body))
        except (ValueError, UnicodeDecodeError):
            raise ProviderError(
                f"{url} answered {status} with something that is not JSON"
            ) from None

    async def discovery(self) -> Discovery:
        """The discovery document (fetched at first use, then at most hourly)."""
        now = time.monotonic()
        if self._discovery is not None and now - self._discovered_at < DOCUMENT_TTL_SECONDS:
            return self._discovery
        url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        status, document = await self._get_json(url)
        if status != 200 or not isinstance(document, dict):
            raise ProviderError(f"{url} answered {status}, not a discovery document")
        declared = document.get("issuer")
        if not isinstance(declared, str) or not _same_issuer(self.config.issuer, declared):
            raise ProviderError(
                f"the discovery document names issuer {declared!r}, not the configured "
                f"{self.config.issuer!r}"
            )
        found = Discovery(
            issuer=declared,
            authorization_endpoint=str(_endpoint(document, "authorization_endpoint")),
            token_endpoint=str(_endpoint(document, "token_endpoint")),
            jwks_uri=str(_endpoint(document, "jwks_uri")),
            userinfo_endpoint=_endpoint(document, "userinfo_endpoint", required=False),
        )
        self._discovery, self._discovered_at = found, now
        return found

    async def _fetch_keys(self, jwks_uri: str) -> None:
        status, document = await self._get_json(jwks_uri)
        keys = document.get("keys") if isinstance(document, dict) else None
        if status != 200 or not isinstance(keys, list):
            raise ProviderError(f"{jwks_uri} answered {status}, not a JWK set")
        found: dict[str, dict[str, Any]] = {}
        for key in keys:
            if isinstance(key, dict) and key.get("use", "sig") == "sig":
                found[str(key.get("kid", ""))] = key
        self._keys, self._keys_at = found, time.monotonic()

    async def _key(self, jwks_uri: str, kid: str) -> dict[str, Any] | None:
        now = time.monotonic()
        if now - self._keys_at >= DOCUMENT_TTL_SECONDS:
            await self._fetch_keys(jwks_uri)
        elif kid not in self._keys and now - self._keys_at >= KEY_REFETCH_INTERVAL:
            # The provider may have rotated its keys since we fetched them: look once more.
            await self._fetch_keys(jwks_uri)
        if kid == "" and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    async def exchange(self, code: str, verifier: str) -> dict[str, Any]:
        """The token response for an authorization code (client_secret_basic, or PKCE only)."""
        found = await self.discovery()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
            "code_verifier": verifier,
        }
        auth: httpx.BasicAuth | None = None
        if self.config.client_secret is None:
            form["client_id"] = self.config.client_id
        else:
            # RFC 6749 §2.3.1: both parts are form-urlencoded before the Basic encoding.
            auth = httpx.BasicAuth(
                quote_plus(self.config.client_id), quote_plus(self.config.client_secret)
            )
        status, body = await self._get_json(
            found.token_endpoint,
            method="POST",
            data=form,
            auth=auth,
            headers={"Accept": "application/json"},
        )
        if status != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise ProviderError(
                f"the token endpoint answered {status}"
                + (f" ({str(error)[:100]})" if error is not None else "")
            )
        if not isinstance(body.get("id_token"), str):
            raise ProviderError("the token endpoint answered without an id_token")
        return body

    async def verify(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The claims of an ID token that passes every check, else TokenRejected."""
        found = await self.discovery()
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise TokenRejected("the ID token is not a JWS") from None
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
            raise TokenRejected(f"the ID token is signed with {algorithm!r}, which we refuse")
        kid = header.get("kid", "")
        jwk = await self._key(found.jwks_uri, str(kid) if isinstance(kid, str) else "")
        if jwk is None:
            raise TokenRejected("the ID token is signed by a key the provider does not publish")
        if jwk.get("kty") != ALGORITHMS[algorithm] or jwk.get("alg", algorithm) != algorithm:
            raise TokenRejected(f"the provider's key {kid!r} is not a {algorithm} key")
        try:
            key = jwt.PyJWK(jwk, algorithm=algorithm)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key=key.key,
                algorithms=[algorithm],
                audience=self.config.client_id,
                issuer=found.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"the ID token is not valid: {exc}") from None
        audience = claims["aud"]
        azp = claims.get("azp")
        if isinstance(audience, list) and len(audience) > 1 and azp is None:
            raise TokenRejected("the ID token names other audiences and no azp")
        if azp is not None and azp != self.config.client_id:
            raise TokenRejected("the ID token was issued to another party (azp)")
        presented = claims.get("nonce")
        if not isinstance(presented, str) or not hmac.compare_digest(
            presented.encode(), nonce.encode()
        ):
            raise TokenRejected("the ID token does not carry the nonce of this sign-in")
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise TokenRejected("the ID token has no subject")
        return claims

    async def identity(self, claims: dict[str, Any], access_token: object) -> Identity:
        """The verified e-mail of the signed-in person (ID token, else userinfo)."""
        source: dict[str, Any] = claims
        if "email" not in claims:
            found = await self.discovery()
            if found.userinfo_endpoint is None or not isinstance(access_token, str):
                raise TokenRejected("the provider gave no e-mail address (ask for scope email)")
            status, info = await self._get_json(
                found.userinfo_endpoint, headers={"Authorization": f"Bearer {access_token}"}
            )
            if status != 200 or not isinstance(info, dict):
                raise ProviderError(f"the userinfo endpoint answered {status}")
            if info.get("sub") != claims["sub"]:
                raise TokenRejected("the userinfo answer is about another subject")
            source = info
        email = source.get("email")
        if not isinstance(email, str) or not 3 <= len(email) <= MAX_EMAIL_CHARS:
            raise TokenRejected("the provider gave no usable e-mail address")
        if any(ord(char) < 0x21 or ord(char) == 0x7F for char in email) or "@" not in email:
            raise TokenRejected("the provider's e-mail address is malformed")
        if source.get("email_verified") is not True:
            raise TokenRejected(f"the e-mail address {email} is not verified by the provider")
        return Identity(subject=claims["sub"], email=email.lower())


_STATE_KEY: Final = "aigov_dashboard_oidc_provider"


def provider_for(app_state: Any, config: OidcConfig) -> Provider:
    """The app's Provider for `config` (made at first use, kept while the config is the same)."""
    provider = getattr(app_state, _STATE_KEY, None)
    if not isinstance(provider, Provider) or provider.config != config:
        provider = Provider(config)
        setattr(app_state, _STATE_KEY, provider)
    return provider
