"""Bearer-token authentication: tokens map to a principal and its roles.

Routes declare what they need with FastAPI dependencies:

    @router.post("/v1/systems", dependencies=[Depends(require_roles(Role.PUBLISHER))])
    async def register(principal: CurrentPrincipal) -> ...

The token registry lives on `app.state` (installed by `build_service_app`), so routers written
in service packages never import settings.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry import trace

__all__ = [
    "BEARER_SCHEME_NAME",
    "DEFAULT_CAPACITY",
    "CurrentPrincipal",
    "Principal",
    "Role",
    "TokenRegistry",
    "authenticated",
    "install_token_registry",
    "is_hashed_entry",
    "principal_for_keyed_digest",
    "principal_for_token",
    "require_roles",
    "token_digest",
    "token_entry_digest",
]

BEARER_SCHEME_NAME = "bearerAuth"
_REGISTRY_STATE_KEY = "aigov_token_registry"

# auto_error=False: we raise our own 401 so the body is problem+json and the challenge
# carries RFC 6750 error codes; the scheme object still declares HTTP bearer in OpenAPI.
bearer_scheme = HTTPBearer(
    scheme_name=BEARER_SCHEME_NAME,
    bearerFormat="opaque",
    description="`Authorization: Bearer <token>`; tokens are configured with AIGOV_AUTH_TOKENS.",
    auto_error=False,
)


class Role(StrEnum):
    """What a principal may do; `admin` implies every other role."""

    PUBLISHER = "publisher"
    OWNER = "owner"
    APPROVER = "approver"
    READER = "reader"
    ADMIN = "admin"


DEFAULT_CAPACITY = "approver"
"""The approval capacity of a principal with the approver role when its token names none."""


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a stable name (stamped on events as `actor`) and its roles.

    `teams` and `systems` scope a principal: when either is set, owner and approver actions
    are allowed only for AI systems of those teams or with those ids (None: unscoped).
    `capacities` are the approval roles (`role` of an approval, e.g. `risk-officer`) the
    principal may decide in; they come from the token configuration, never from a request.
    """

    name: str
    roles: frozenset[Role]
    teams: frozenset[str] | None = None
    systems: frozenset[str] | None = None
    capacities: frozenset[str] | None = None

    @property
    def scoped(self) -> bool:
        """True when the principal may act only for some teams or systems."""
        return self.teams is not None or self.systems is not None

    def may_act_for(self, *, system_id: str, team: str | None) -> bool:
        """True when the principal's scope covers this AI system (unscoped principals: always)."""
        if not self.scoped:
            return True
        if self.systems is not None and system_id in self.systems:
            return True
        return team is not None and self.teams is not None and team in self.teams

    def approval_capacities(self) -> frozenset[str]:
        """The capacities this principal may approve in (none without the approver role)."""
        if not self.has_role(Role.APPROVER):
            return frozenset()
        if self.capacities is not None:
            return self.capacities
        return frozenset({DEFAULT_CAPACITY})

    def has_role(self, role: Role) -> bool:
        """True when the principal holds `role` directly or through `admin`."""
        return role in self.roles or Role.ADMIN in self.roles

    def has_any_role(self, roles: Iterable[Role]) -> bool:
        """True when the principal holds at least one of `roles` (admin holds them all)."""
        return any(self.has_role(role) for role in roles)


HASHED_TOKEN_PREFIX = "sha256:"
"""A token entry `sha256:<64 hex>` is the digest of the token, so files never hold plaintext."""


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def _given_digest(token: str) -> bytes | None:
    if token.startswith(HASHED_TOKEN_PREFIX):
        hex_digest = token[len(HASHED_TOKEN_PREFIX) :]
        if len(hex_digest) == 64:
            try:
                return bytes.fromhex(hex_digest)
            except ValueError:
                pass
    return None


def is_hashed_entry(token: str) -> bool:
    """True when a configured entry is a `sha256:<64 hex>` digest rather than a token."""
    return _given_digest(token) is not None


def token_entry_digest(token: str) -> bytes:
    """The digest a configured entry stands for: given as `sha256:<hex>`, or hashed here."""
    given = _given_digest(token)
    return given if given is not None else _digest(token)


class TokenRegistry:
    """Resolves bearer tokens to principals without keeping or comparing plaintext tokens.

    Tokens are stored only as SHA-256 digests; a presented token is hashed and the digest
    compared with `hmac.compare_digest` against every entry, so lookup time depends neither on
    how much of a token matched nor on which entry matched.
    """

    __slots__ = ("_entries",)

    def __init__(self, principals_by_token: Mapping[str, Principal]) -> None:
        self._entries: tuple[tuple[bytes, Principal], ...] = tuple(
            (token_entry_digest(token), principal)
            for token, principal in principals_by_token.items()
        )

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        # Never show digests either: they allow offline guessing of weak tokens.
        return f"TokenRegistry({len(self._entries)} tokens)"

    def resolve(self, token: str) -> Principal | None:
        """Return the principal the token belongs to, or None when it is unknown."""
        presented = _digest(token)
        found: Principal | None = None
        for digest, principal in self._entries:
            # No early exit: every entry is compared so timing does not reveal the position.
            if hmac.compare_digest(presented, digest):
                found = principal
        return found

    def resolve_keyed_digest(self, key: bytes, mac: bytes) -> Principal | None:
        """The principal whose token digest has HMAC-SHA256 `mac` under `key`, or None."""
        found: Principal | None = None
        for digest, principal in self._entries:
            # As in `resolve`: every entry is compared, no early exit.
            if hmac.compare_digest(hmac.new(key, digest, hashlib.sha256).digest(), mac):
                found = principal
        return found


def install_token_registry(app: FastAPI, registry: TokenRegistry) -> None:
    """Make `registry` the one the auth dependencies of `app` consult."""
    setattr(app.state, _REGISTRY_STATE_KEY, registry)


def _registry_of(request: Request) -> TokenRegistry:
    registry = getattr(request.app.state, _REGISTRY_STATE_KEY, None)
    if not isinstance(registry, TokenRegistry):
        # A wiring bug, not a client error: fail closed with a 500 rather than letting anyone in.
        raise RuntimeError("no TokenRegistry installed on this app (use build_service_app)")
    return registry


def principal_for_token(request: Request, token: str) -> Principal | None:
    """The principal `token` resolves to in the app's registry, exactly as bearer auth does."""
    return _registry_of(request).resolve(token)


def principal_for_keyed_digest(request: Request, key: bytes, mac: bytes) -> Principal | None:
    """The principal whose token's SHA-256 digest has HMAC-SHA256 `mac` under `key`, if any.

    For sessions that must end when their token leaves the registry without keeping the token:
    the session holds HMAC(key, digest) and this checks it against every entry, in constant
    time per entry and without an early exit, as `TokenRegistry.resolve` does.
    """
    return _registry_of(request).resolve_keyed_digest(key, mac)


def token_digest(token: str) -> bytes:
    """The SHA-256 digest the registry keeps for `token` (what `principal_for_keyed_digest` keys)."""
    return _digest(token)


def _unauthorized(detail: str, *, error: str | None) -> HTTPException:
    challenge = 'Bearer realm="aigov"'
    if error is not None:
        challenge += f', error="{error}"'
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": challenge},
    )


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """Dependency: the principal of a valid bearer token, else 401 with a Bearer challenge."""
    if credentials is None:
        # RFC 6750 §3.1: no error code when the request carried no credentials at all.
        raise _unauthorized("missing bearer token", error=None)
    principal = _registry_of(request).resolve(credentials.credentials)
    if principal is None:
        raise _unauthorized("invalid bearer token", error="invalid_token")
    request.state.principal = principal
    trace.get_current_span().set_attribute("enduser.id", principal.name)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticated)]
"""Annotate a route parameter with this to receive the authenticated principal."""


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the principal must hold at least one of `roles` (admin always does)."""
    if not roles:
        raise ValueError("require_roles() needs at least one role; use `authenticated` instead")
    wanted = tuple(roles)
    names = ", ".join(role.value for role in wanted)

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any_role(wanted):
            raise HTTPException(
                status_code=status.HTTP_403_FORBIDDEN,
                detail=f"principal {principal.name!r} lacks a required role (one of: {names})",
            )
        return principal

    dependency.__name__ = f"require_roles_{'_'.join(role.value for role in wanted)}"
    return dependency
