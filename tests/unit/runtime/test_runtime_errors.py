"""Problem details (RFC 9457) for 404, 422, raised HTTP errors and unexpected 500s."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, HTTPException
from pydantic import BaseModel, Field

from aigov_runtime.errors import ProblemDetail, ProblemError
from aigov_runtime.testing import app_client

AppFactory = Callable[..., FastAPI]
LogLines = Callable[[], list[dict[str, Any]]]

SECRET_IN_EXCEPTION = "db password is hunter2-do-not-show"


class Registration(BaseModel):
    system_id: str = Field(pattern=r"^sys-[a-z0-9-]+$")
    owner: str
    risk_score: int = Field(ge=0, le=100)


def error_router() -> APIRouter:
    router = APIRouter()

    @router.post("/systems/{system_id}/registrations")
    async def register(system_id: int, body: Registration) -> dict[str, str]:
        return {"ok": "yes"}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError(SECRET_IN_EXCEPTION)

    @router.get("/gone")
    async def gone() -> None:
        raise HTTPException(status_code=410, detail="release withdrawn")

    # Two routes on one path with different methods, as intake and evidence have.
    @router.get("/silences")
    async def list_silences() -> list[str]:
        return []

    @router.post("/silences")
    async def create_silence() -> dict[str, str]:
        return {}

    @router.get("/blocked")
    async def blocked() -> None:
        raise ProblemError(
            409,
            "release blocked by the gate",
            type="https://aigov.io/problems/gate-blocked",
            missing_controls=["MAP-1.1", "MEASURE-2.3"],
        )

    return router


@pytest.mark.asyncio
class TestProblemResponses:
    async def test_unknown_route_is_404_problem(self, make_app: AppFactory) -> None:
        async with app_client(make_app(error_router())) as client:
            response = await client.get("/no/such/route")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        body = ProblemDetail.model_validate(response.json())
        assert (body.type, body.title, body.status) == ("about:blank", "Not Found", 404)

    async def test_validation_error_lists_each_field(self, make_app: AppFactory) -> None:
        async with app_client(make_app(error_router())) as client:
            response = await client.post(
                "/systems/not-an-int/registrations",
                json={"system_id": "BAD ID", "risk_score": 101, "password": "hunter2"},
            )
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["title"] == "Unprocessable Content"
        locations = {tuple(error["loc"]) for error in body["errors"]}
        assert locations == {
            ("path", "system_id"),
            ("body", "system_id"),
            ("body", "owner"),
            ("body", "risk_score"),
        }
        assert all(error["msg"] and error["type"] for error in body["errors"])
        assert "4 errors" in body["detail"]
        # Client input is never echoed back.
        assert "BAD ID" not in response.text
        assert "hunter2" not in response.text

    async def test_malformed_json_is_422_problem(self, make_app: AppFactory) -> None:
        async with app_client(make_app(error_router())) as client:
            response = await client.post(
                "/systems/1/registrations",
                content=b"{not json",
                headers={"Content-Type": "application/json"},
            )
        assert response.status_code == 422
        assert response.json()["errors"][0]["type"] == "json_invalid"

    async def test_http_exception_keeps_status_and_detail(self, make_app: AppFactory) -> None:
        async with app_client(make_app(error_router())) as client:
            response = await client.get("/gone")
        assert response.status_code == 410
        assert response.json()["detail"] == "release withdrawn"
        assert response.json()["title"] == "Gone"

    async def test_problem_error_carries_type_and_extensions(self, make_app: AppFactory) -> None:
        async with app_client(make_app(error_router())) as client:
            response = await client.get("/blocked")
        body = response.json()
        assert response.status_code == 409
        assert body["type"] == "https://aigov.io/problems/gate-blocked"
        assert body["missing_controls"] == ["MAP-1.1", "MEASURE-2.3"]

    async def test_method_not_allowed_is_a_problem(self, make_app: AppFactory) -> None:
        async with app_client(make_app(error_router())) as client:
            response = await client.delete("/gone")
        assert response.status_code == 405
        assert response.headers["content-type"] == "application/problem+json"

    async def test_method_not_allowed_lists_every_method_of_the_path(
        self, make_app: AppFactory
    ) -> None:
        async with app_client(make_app(error_router())) as client:
            response = await client.request("OPTIONS", "/silences")
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, POST"


@pytest.mark.asyncio
class TestUnhandledErrors:
    async def test_500_body_is_generic(self, make_app: AppFactory) -> None:
        async with app_client(make_app(error_router())) as client:
            response = await client.get("/boom")
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        assert SECRET_IN_EXCEPTION not in response.text
        assert "RuntimeError" not in response.text
        assert "Traceback" not in response.text
        assert response.json()["title"] == "Internal Server Error"

    async def test_500_is_logged_with_the_trace_id_of_the_response(
        self, make_app: AppFactory, log_lines: LogLines
    ) -> None:
        async with app_client(make_app(error_router())) as client:
            response = await client.get("/boom")
        trace_id = response.json()["trace_id"]
        assert len(trace_id) == 32
        errors = [line for line in log_lines() if line["level"] == "ERROR"]
        assert len(errors) == 1
        assert errors[0]["trace_id"] == trace_id
        assert "RuntimeError" in errors[0]["exception"]
        assert "/boom" in errors[0]["message"]

    async def test_the_app_keeps_serving_after_a_crash(self, make_app: AppFactory) -> None:
        async with app_client(make_app(error_router())) as client:
            assert (await client.get("/boom")).status_code == 500
            assert (await client.get("/healthz")).status_code == 200


class TestValidationSummary:
    """The 422 `detail` names the failing fields and the bound, so a person needs no JSON tool."""

    def test_names_the_field_and_the_bound(self) -> None:
        from aigov_runtime.errors import FieldError, validation_summary

        detail = validation_summary(
            [
                FieldError(
                    loc=["query", "limit"],
                    msg="Input should be less than or equal to 500",
                    type="less_than_equal",
                )
            ]
        )
        assert detail == (
            "request validation failed (1 error): query.limit: "
            "Input should be less than or equal to 500"
        )

    def test_says_how_many_more_beyond_the_first_three(self) -> None:
        from aigov_runtime.errors import FieldError, validation_summary

        errors = [
            FieldError(loc=["body", f"f{i}"], msg="Field required", type="missing")
            for i in range(5)
        ]
        detail = validation_summary(errors)
        assert detail.startswith("request validation failed (5 errors): body.f0: Field required")
        assert detail.endswith("; and 2 more")
        assert "body.f3" not in detail
