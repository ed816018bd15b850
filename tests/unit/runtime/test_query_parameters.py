"""Reads refuse query parameters they do not declare (a misspelt filter must not widen an answer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI, Query, Request

from aigov_runtime.testing import app_client

AppFactory = Callable[..., FastAPI]
pytestmark = pytest.mark.asyncio


def _limit(limit: Annotated[int, Query(ge=1, le=500)] = 10) -> int:
    return limit


def reads() -> APIRouter:
    router = APIRouter()

    @router.get("/items")
    async def items(
        page: Annotated[int, Depends(_limit)],
        system: Annotated[str | None, Query(max_length=63)] = None,
        from_: Annotated[str | None, Query(alias="from")] = None,
    ) -> dict[str, object]:
        return {"system": system, "limit": page, "from": from_}

    @router.post("/hooks")
    async def hook(request: Request) -> dict[str, object]:
        # Webhooks read tool-specific parameters themselves.
        return {"system": request.query_params.get("system")}

    return router


class TestUnknownQueryParameters:
    async def test_declared_parameters_including_dependencies_and_aliases_pass(
        self, make_app: AppFactory
    ) -> None:
        async with app_client(make_app(reads(), metrics_public=True)) as client:
            response = await client.get("/items", params={"system": "a", "limit": 5, "from": "x"})
        assert response.status_code == 200, response.text
        assert response.json() == {"system": "a", "limit": 5, "from": "x"}

    async def test_a_misspelt_filter_is_422_naming_it_and_what_is_accepted(
        self, make_app: AppFactory
    ) -> None:
        async with app_client(make_app(reads())) as client:
            response = await client.get("/items", params={"sytem": "a", "limt": 5})
        assert response.status_code == 422
        body = response.json()
        assert "'limt', 'sytem'" in body["detail"]
        assert "accepts: from, limit, system" in body["detail"]
        assert [error["loc"] for error in body["errors"]] == [["query", "limt"], ["query", "sytem"]]

    async def test_posts_are_not_checked(self, make_app: AppFactory) -> None:
        async with app_client(make_app(reads())) as client:
            response = await client.post("/hooks", params={"system": "a", "anything": "b"})
        assert response.status_code == 200
        assert response.json() == {"system": "a"}

    async def test_the_bound_of_a_parameter_is_in_the_detail(self, make_app: AppFactory) -> None:
        async with app_client(make_app(reads())) as client:
            response = await client.get("/items", params={"limit": 1000})
        assert response.status_code == 422
        assert "query.limit: Input should be less than or equal to 500" in response.json()["detail"]
