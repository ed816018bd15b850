"""Bearer auth: token registry, 401/403/200 across the role matrix, admin implies all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI

from aigov_runtime.auth import CurrentPrincipal, Principal, Role, TokenRegistry, require_roles
from aigov_runtime.testing import app_client

AppFactory = Callable[..., FastAPI]
AuthHeader = Callable[[Role], dict[str, str]]


def role_router() -> APIRouter:
    """One route per role, plus one for any authenticated principal and one for owner-or-approver."""
    router = APIRouter()

    @router.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, Any]:
        return {"name": principal.name, "roles": sorted(principal.roles)}

    for role in Role:

        @router.get(f"/needs/{role.value}", dependencies=[Depends(require_roles(role))])
        async def guarded() -> dict[str, str]:
            return {"ok": "yes"}

    @router.get("/needs/owner-or-approver")
    async def either(
        principal: Principal = Depends(require_roles(Role.OWNER, Role.APPROVER)),
    ) -> dict[str, str]:
        return {"name": principal.name}

    return router


class TestTokenRegistry:
    def test_resolves_known_tokens_only(self) -> None:
        alice = Principal("alice", frozenset({Role.OWNER}))
        registry = TokenRegistry({"a" * 32: alice})
        assert registry.resolve("a" * 32) == alice
        assert registry.resolve("a" * 31) is None
        assert registry.resolve("") is None

    def test_repr_shows_no_token_material(self) -> None:
        registry = TokenRegistry(
            {"super-secret-token-value": Principal("x", frozenset({Role.READER}))}
        )
        assert "super-secret" not in repr(registry)
        assert len(registry) == 1

    def test_admin_implies_every_role(self) -> None:
        admin = Principal("root", frozenset({Role.ADMIN}))
        assert all(admin.has_role(role) for role in Role)
        reader = Principal("r", frozenset({Role.READER}))
        assert reader.has_role(Role.READER)
        assert not reader.has_role(Role.PUBLISHER)

    def test_require_roles_needs_a_role(self) -> None:
        with pytest.raises(ValueError, match="at least one role"):
            require_roles()


@pytest.mark.asyncio
class TestHttpAuth:
    async def test_missing_token_is_401_with_bearer_challenge(self, make_app: AppFactory) -> None:
        async with app_client(make_app(role_router())) as client:
            response = await client.get("/whoami")
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "error=" not in response.headers["www-authenticate"]
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "missing bearer token"

    @pytest.mark.parametrize(
        "authorization",
        [
            "Bearer not-a-known-token",
            "Basic dXNlcjpwYXNz",
            "Bearer",
            "t0k-admin-Qx7vN2pLm9Zr4Kc8Wd",
        ],
    )
    async def test_invalid_credentials_are_401(
        self, make_app: AppFactory, authorization: str
    ) -> None:
        async with app_client(make_app(role_router())) as client:
            response = await client.get("/whoami", headers={"Authorization": authorization})
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")

    async def test_unknown_token_gets_invalid_token_error(self, make_app: AppFactory) -> None:
        async with app_client(make_app(role_router())) as client:
            response = await client.get("/whoami", headers={"Authorization": "Bearer nope-nope"})
        assert 'error="invalid_token"' in response.headers["www-authenticate"]

    async def test_valid_token_yields_its_principal(
        self, make_app: AppFactory, auth_header: AuthHeader
    ) -> None:
        async with app_client(make_app(role_router())) as client:
            response = await client.get("/whoami", headers=auth_header(Role.PUBLISHER))
        assert response.status_code == 200
        assert response.json() == {"name": "publisher-bot", "roles": ["publisher"]}

    async def test_role_matrix(self, make_app: AppFactory, auth_header: AuthHeader) -> None:
        async with app_client(make_app(role_router())) as client:
            for holder in Role:
                for needed in Role:
                    response = await client.get(
                        f"/needs/{needed.value}", headers=auth_header(holder)
                    )
                    expected = 200 if holder in (needed, Role.ADMIN) else 403
                    assert response.status_code == expected, (holder, needed)
                    if expected == 403:
                        assert response.headers["content-type"] == "application/problem+json"
                        assert needed.value in response.json()["detail"]

    async def test_any_of_several_roles_suffices(
        self, make_app: AppFactory, auth_header: AuthHeader
    ) -> None:
        async with app_client(make_app(role_router())) as client:
            statuses = {
                role: (
                    await client.get("/needs/owner-or-approver", headers=auth_header(role))
                ).status_code
                for role in Role
            }
        assert statuses == {
            Role.OWNER: 200,
            Role.APPROVER: 200,
            Role.ADMIN: 200,
            Role.PUBLISHER: 403,
            Role.READER: 403,
        }

    async def test_tokens_never_reach_the_logs(
        self,
        make_app: AppFactory,
        auth_header: AuthHeader,
        tokens: dict[Role, str],
        log_lines: Callable[[], list[dict[str, Any]]],
    ) -> None:
        async with app_client(make_app(role_router())) as client:
            await client.get("/whoami", headers=auth_header(Role.READER))
            await client.get("/whoami", headers={"Authorization": "Bearer wrong-token-123"})
        logged = "\n".join(str(line) for line in log_lines())
        assert logged
        assert tokens[Role.READER] not in logged
        assert "wrong-token-123" not in logged
