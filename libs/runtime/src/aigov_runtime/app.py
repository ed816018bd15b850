"""`build_service_app`: one FastAPI app wired the way every aigov service runs.

Middleware, outermost first: OpenTelemetry server span → Starlette's last-resort error handler
→ HTTP metrics → Host check (only with dev tokens or AIGOV_ALLOWED_HOSTS) → body size limit →
`UnhandledErrorMiddleware` → FastAPI's exception handlers → routes. Metrics sit outside the
checks so refused requests are counted too. `/`, `/docs` and `/redoc` are served with
their assets from the process itself (`aigov_runtime.docs`). The app also holds the token registry and the
per-principal rate limiter its routes' dependencies consult.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any, Final, TypeVar, cast

from fastapi import APIRouter, Depends, FastAPI
from fastapi.telemetry import TelemetryConfig

from aigov_runtime import heap
from aigov_runtime.auth import (
    BEARER_SCHEME_NAME,
    TokenRegistry,
    bearer_scheme,
    install_token_registry,
)
from aigov_runtime.docs import install_docs
from aigov_runtime.errors import (
    PROBLEM_JSON,
    ProblemDetail,
    UnhandledErrorMiddleware,
    install_problem_handlers,
)
from aigov_runtime.health import ReadinessChecks, health_router, install_readiness_checks
from aigov_runtime.hosts import TrustedHostMiddleware, document_misdirected_requests
from aigov_runtime.limits import BodySizeLimitMiddleware
from aigov_runtime.logging import configure_logging
from aigov_runtime.metrics import HttpMetrics, HttpMetricsMiddleware, create_registry
from aigov_runtime.query import reject_unknown_query_parameters
from aigov_runtime.ratelimit import RateLimiter, install_rate_limiter
from aigov_runtime.settings import ServiceSettings
from aigov_runtime.tags import openapi_tags
from aigov_runtime.telemetry import configure_tracing, instrument_app

__all__ = ["ServiceLifespan", "build_service_app"]

logger = logging.getLogger(__name__)

StateT = TypeVar("StateT", bound=Mapping[str, Any])

ServiceLifespan = Callable[[FastAPI], AbstractAsyncContextManager[StateT | None]]
"""A service's own lifespan: opens its resources and yields them as state (or None)."""

# FastAPI's native telemetry would trace every request a second time next to the
# opentelemetry-instrumentation-fastapi middleware we install.
_NATIVE_TELEMETRY_OFF: Final[TelemetryConfig] = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "auto_configure": False,
}


def build_service_app(
    *,
    service: str,
    title: str,
    version: str,
    settings: ServiceSettings,
    readiness_checks: ReadinessChecks | Callable[[StateT], ReadinessChecks],
    lifespan: ServiceLifespan[StateT] | None = None,
    routers: Sequence[APIRouter] = (),
    description: str = "",
) -> FastAPI:
    """A FastAPI app with JSON logs, tracing, auth, limits, metrics, problem errors and probes.

    `readiness_checks` is either a fixed mapping or a function of the state the service's
    `lifespan` yields (checks usually need the engine or producer opened there); `/readyz`
    answers 503 until the lifespan has started. The service's lifespan runs inside the
    runtime's own, so its resources are opened after and closed before the runtime's logs say so.
    """
    configure_logging(settings.log_level, service, log_file=settings.log_file)
    provider = configure_tracing(service, service_version=version)

    @asynccontextmanager
    async def runtime_lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        logger.info(
            "%s %s starting",
            service,
            version,
            extra={"settings": settings.redacted_dump()},
        )
        async with AsyncExitStack() as stack:
            user_state = await stack.enter_async_context(lifespan(app)) if lifespan else None
            if callable(readiness_checks):
                # Without a lifespan there is no state; such checks get an empty mapping.
                checks = readiness_checks(cast(StateT, user_state or {}))
            else:
                checks = readiness_checks
            install_readiness_checks(app, checks)
            heap.after_startup()
            logger.info(
                "%s ready to serve",
                service,
                extra={"readiness_checks": sorted(checks)},
            )
            try:
                yield dict(user_state or {})
            finally:
                logger.info("%s shutting down", service)
                # From here on /readyz says "not ready" so no new traffic is routed to us.
                install_readiness_checks(app, None)
                heap.before_shutdown()
        logger.info("%s stopped", service)

    app = FastAPI(
        title=title,
        version=version,
        description=description,
        lifespan=runtime_lifespan,
        telemetry=_NATIVE_TELEMETRY_OFF,
        dependencies=[Depends(reject_unknown_query_parameters)],
        # FastAPI's own pages load their assets from a CDN; install_docs serves them offline.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_token_registry(app, TokenRegistry(settings.principals_by_token()))
    install_rate_limiter(
        app, RateLimiter(rate=settings.rate_limit_per_second, burst=settings.rate_limit_burst)
    )
    install_problem_handlers(app)

    registry = create_registry()
    app.state.metrics_registry = registry
    app.include_router(
        health_router(
            registry=registry,
            metrics_public=settings.metrics_public,
            check_timeout=settings.readiness_timeout_seconds,
        )
    )
    install_docs(app, services=[service])
    for router in routers:
        app.include_router(router)

    # add_middleware prepends: the last one added is the outermost.
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        max_yaml_bytes=settings.max_yaml_bytes,
    )
    host_policy = settings.host_policy()
    if host_policy is not None:
        app.add_middleware(TrustedHostMiddleware, policy=host_policy)
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(registry))
    instrument_app(app, provider)
    _document_conventions(app, host_checked=host_policy is not None)
    return app


def _document_conventions(app: FastAPI, *, host_checked: bool) -> None:
    """Declare the bearer scheme and problem+json errors in the OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            # The top-level tag list (with descriptions) is built from the operations' tags,
            # so a service lists exactly the headings it uses.
            schema["tags"] = openapi_tags(
                {
                    tag
                    for operations in schema.get("paths", {}).values()
                    for operation in operations.values()
                    if isinstance(operation, dict)
                    for tag in operation.get("tags", ())
                }
            )
            components = schema.setdefault("components", {})
            components.setdefault("securitySchemes", {})[BEARER_SCHEME_NAME] = (
                bearer_scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True)
            )
            schemas = components.setdefault("schemas", {})
            problem = ProblemDetail.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(problem.pop("$defs", {}))
            schemas["ProblemDetail"] = problem
            _problem_json_for_validation_errors(schema)
            if host_checked:
                document_misdirected_requests(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _problem_json_for_validation_errors(schema: dict[str, Any]) -> None:
    """FastAPI documents 422 as its own `HTTPValidationError`; we answer problem+json."""
    problem_content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            response = (
                operation.get("responses", {}).get("422") if isinstance(operation, dict) else None
            )
            if isinstance(response, dict):
                response["content"] = problem_content
    schemas = schema.get("components", {}).get("schemas", {})
    schemas.pop("HTTPValidationError", None)
    if "#/components/schemas/ValidationError" not in json.dumps(schema):
        schemas.pop("ValidationError", None)
