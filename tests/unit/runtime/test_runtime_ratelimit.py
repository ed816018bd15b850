"""The runtime's per-principal rate limit, installed by build_service_app for every service."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import APIRouter, FastAPI

from aigov_runtime.auth import Role
from aigov_runtime.ratelimit import LimitedPrincipal, RateLimiter, rate_limiter_of
from aigov_runtime.testing import app_client

pytestmark = pytest.mark.asyncio

AppFactory = Callable[..., FastAPI]
AuthHeader = Callable[[Role], dict[str, str]]


def limited_router() -> APIRouter:
    router = APIRouter()

    @router.get("/v1/limited")
    async def limited(principal: LimitedPrincipal) -> dict[str, str]:
        return {"name": principal.name}

    return router


async def test_a_burst_beyond_the_limit_is_429_with_retry_after(
    make_app: AppFactory, auth_header: AuthHeader
) -> None:
    app = make_app(limited_router(), rate_limit_per_second=0.01, rate_limit_burst=3)
    async with app_client(app) as client:
        answers = [
            await client.get("/v1/limited", headers=auth_header(Role.READER)) for _ in range(4)
        ]
        other = await client.get("/v1/limited", headers=auth_header(Role.OWNER))
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["retry-after"]) >= 1
    assert "reader-bot" in refused.json()["detail"]
    assert other.status_code == 200, "each principal has its own bucket"


async def test_unauthenticated_requests_are_401_not_counted(make_app: AppFactory) -> None:
    app = make_app(limited_router(), rate_limit_per_second=0.01, rate_limit_burst=1)
    async with app_client(app) as client:
        statuses = [(await client.get("/v1/limited")).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]


async def test_the_app_has_one_limiter_from_the_settings(make_app: AppFactory) -> None:
    app = make_app(limited_router(), rate_limit_per_second=5, rate_limit_burst=7)
    limiter = rate_limiter_of(app)
    assert isinstance(limiter, RateLimiter)
    assert (limiter.rate, limiter.burst) == (5, 7)
