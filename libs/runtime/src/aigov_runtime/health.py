"""Operational endpoints every service serves: `/healthz`, `/readyz` and `/metrics`.

- `/healthz` (liveness, no auth): 200 while the process can answer HTTP at all.
- `/readyz` (readiness, no auth): runs the service's named checks (database, broker, ...)
  concurrently, each with a timeout; 200 when all pass, 503 naming what failed.
- `/metrics` (Prometheus text or OpenMetrics by `Accept`): requires a bearer token with the
  `reader` role (Prometheus sends one via `authorization: {credentials: ...}` in its scrape
  config), unless `AIGOV_METRICS_PUBLIC=true` for setups where the network already restricts it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, Literal

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from pydantic import BaseModel, Field

from aigov_runtime.auth import Role, require_roles
from aigov_runtime.errors import problem_responses
from aigov_runtime.redaction import redact_text
from aigov_runtime.tags import Tag

__all__ = [
    "CheckResult",
    "Liveness",
    "ReadinessCheck",
    "ReadinessChecks",
    "ReadinessReport",
    "health_router",
    "install_readiness_checks",
    "readiness_checks_of",
    "run_readiness_checks",
]

logger = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]
"""An async callable that returns when a dependency is usable and raises when it is not."""
ReadinessChecks = Mapping[str, ReadinessCheck]

_CHECKS_STATE_KEY: Final = "aigov_readiness_checks"
_NO_STORE: Final = {"Cache-Control": "no-store"}
_MAX_ERROR_CHARS: Final = 300


class Liveness(BaseModel):
    """The liveness answer."""

    status: Literal["ok"] = "ok"


class CheckResult(BaseModel):
    """Outcome of one readiness check."""

    status: Literal["ok", "fail"]
    duration_ms: float = Field(description="How long the check took, in milliseconds.")
    error: str | None = Field(default=None, description="Why the check failed.")


class ReadinessReport(BaseModel):
    """Overall readiness and the outcome of each named check."""

    status: Literal["ok", "fail"]
    checks: dict[str, CheckResult]


def install_readiness_checks(app: FastAPI, checks: ReadinessChecks | None) -> None:
    """Make `checks` what `/readyz` of `app` runs; None means not serving (before/after lifespan)."""
    setattr(app.state, _CHECKS_STATE_KEY, None if checks is None else dict(checks))


def readiness_checks_of(app: FastAPI) -> ReadinessChecks | None:
    """The readiness checks installed on `app` (None before startup and during shutdown)."""
    return _checks_of(app)


def _checks_of(app: FastAPI) -> ReadinessChecks | None:
    checks = getattr(app.state, _CHECKS_STATE_KEY, None)
    return checks if isinstance(checks, dict) else None


def _describe(exc: BaseException) -> str:
    text = redact_text(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
    described = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return described[:_MAX_ERROR_CHARS]


async def _run_one(check: ReadinessCheck, limit_seconds: float) -> CheckResult:
    started = time.perf_counter()
    deadline = asyncio.timeout(limit_seconds)
    error: str | None = None
    try:
        async with deadline:
            await check()
    except TimeoutError as exc:
        # Our deadline, or a timeout the dependency's client raised on its own.
        error = f"timed out after {limit_seconds:g}s" if deadline.expired() else _describe(exc)
    except Exception as exc:
        error = _describe(exc)
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    if error is None:
        return CheckResult(status="ok", duration_ms=duration_ms)
    return CheckResult(status="fail", duration_ms=duration_ms, error=error)


async def run_readiness_checks(checks: ReadinessChecks, *, check_timeout: float) -> ReadinessReport:
    """Run all `checks` concurrently, each bounded by `check_timeout` seconds."""
    names = list(checks)
    results = await asyncio.gather(*(_run_one(checks[name], check_timeout) for name in names))
    by_name = dict(zip(names, results, strict=True))
    overall: Literal["ok", "fail"] = "ok" if all(r.status == "ok" for r in results) else "fail"
    return ReadinessReport(status=overall, checks=by_name)


def health_router(
    *, registry: CollectorRegistry, metrics_public: bool, check_timeout: float = 2.0
) -> APIRouter:
    """The `/healthz`, `/readyz` and `/metrics` routes, reading checks installed on the app."""
    router = APIRouter(tags=[Tag.OPERATIONS])
    # Log readiness only when a check changes state: probes run every few seconds.
    failing: dict[str, str] = {}

    @router.get("/healthz", response_model=Liveness, summary="Liveness probe")
    async def healthz() -> JSONResponse:
        """Answer 200 while the process serves HTTP; checks no dependency."""
        return JSONResponse(Liveness().model_dump(), headers=_NO_STORE)

    @router.get(
        "/readyz",
        response_model=ReadinessReport,
        summary="Readiness probe",
        responses={503: {"model": ReadinessReport, "description": "A dependency is unusable."}},
    )
    async def readyz(request: Request) -> JSONResponse:
        """Run the readiness checks; 200 when all pass, 503 with each failure otherwise."""
        checks = _checks_of(request.app)
        if checks is None:
            report = ReadinessReport(
                status="fail",
                checks={
                    "startup": CheckResult(
                        status="fail",
                        duration_ms=0.0,
                        error="not serving: startup incomplete or shutting down",
                    )
                },
            )
        else:
            report = await run_readiness_checks(checks, check_timeout=check_timeout)
        _log_transitions(report, failing)
        return JSONResponse(
            report.model_dump(mode="json", exclude_none=True),
            status_code=200 if report.status == "ok" else 503,
            headers=_NO_STORE,
        )

    metrics_dependencies = [] if metrics_public else [Depends(require_roles(Role.READER))]

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        dependencies=metrics_dependencies,
        response_class=Response,
        responses={
            200: {"content": {"text/plain": {}}, "description": "Prometheus exposition."},
            **({} if metrics_public else problem_responses(401, 403)),
        },
    )
    async def metrics(request: Request) -> Response:
        """Expose the service's metrics in the format the scraper asks for."""
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(content=encode(registry), media_type=content_type, headers=_NO_STORE)

    return router


def _log_transitions(report: ReadinessReport, failing: dict[str, str]) -> None:
    for name, result in report.checks.items():
        if result.status == "fail" and name not in failing:
            failing[name] = result.error or ""
            logger.warning(
                "readiness check %s failing: %s",
                name,
                result.error,
                extra={"check": name},
            )
        elif result.status == "ok" and name in failing:
            del failing[name]
            logger.info("readiness check %s recovered", name, extra={"check": name})
