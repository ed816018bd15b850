"""The all-in-one app: the four services' apps behind one port, started in one lifespan.

Each service is built exactly as in production (`create_app(settings)`), with its own
middleware, auth, metrics and lifespan state; this module only hosts them side by side:
requests are dispatched by route, the lifespans run in order (and stop in reverse), and
`/`, `/healthz`, `/readyz`, `/metrics`, `/openapi.json`, `/docs` and `/redoc` cover all four
(the docs pages with their assets served from this process: they work offline).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from typing import Any, Final

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp

import aigov_evidence.app
import aigov_evidence.settings
import aigov_intake.app
import aigov_intake.settings
import aigov_monitoring_router.app
import aigov_monitoring_router.settings
import aigov_tiering.app
import aigov_tiering.settings
from aigov_embedded import __version__, demo
from aigov_embedded.demo_client import DEV_TOKENS, DemoError, Endpoints
from aigov_embedded.dispatch import HostedService, ServiceDispatcher
from aigov_embedded.metrics import merged_registry
from aigov_embedded.openapi import merge_openapi
from aigov_embedded.settings import Settings
from aigov_runtime.asgi import running_lifespan
from aigov_runtime.auth import Principal, Role, TokenRegistry, install_token_registry
from aigov_runtime.docs import install_docs
from aigov_runtime.errors import install_problem_handlers
from aigov_runtime.health import (
    ReadinessCheck,
    health_router,
    install_readiness_checks,
    readiness_checks_of,
)
from aigov_runtime.hosts import TrustedHostMiddleware, document_misdirected_requests
from aigov_runtime.logging import configure_logging
from aigov_runtime.settings import ServiceSettings

logger = logging.getLogger(__name__)

SERVICE: Final = "aigov"
DESCRIPTION: Final = (
    "aigov, all in one process: intake (`/v1/events`, typed shortcuts, webhooks), tiering "
    "(`/v1/tiering`, `/v1/policies`, `/v1/controls`), evidence (ledger, gate, inventory) and the "
    "monitoring router (`/v1/routes`, silences, probes), on the embedded event log and SQLite."
)

ServiceFactory = Callable[[Any], FastAPI]

# (name, create_app, settings class), in start order: the write side first, so events
# posted while the others start are already durable.
SERVICES: Final[tuple[tuple[str, ServiceFactory, type[ServiceSettings]], ...]] = (
    ("intake", aigov_intake.app.create_app, aigov_intake.settings.Settings),
    ("tiering", aigov_tiering.app.create_app, aigov_tiering.settings.Settings),
    ("evidence", aigov_evidence.app.create_app, aigov_evidence.settings.Settings),
    (
        "monitoring-router",
        aigov_monitoring_router.app.create_app,
        aigov_monitoring_router.settings.Settings,
    ),
)


def build_services(settings: Settings) -> list[HostedService]:
    """Each service's app, configured for this process."""
    return [
        HostedService(name, factory(settings.for_service(settings_class, name)))
        for name, factory, settings_class in SERVICES
    ]


def create_app(settings: Settings | None = None) -> ASGIApp:
    """The all-in-one ASGI app for `settings` (read from the environment when omitted)."""
    settings = Settings() if settings is None else settings
    services = build_services(settings)
    # Building each service configured logging under its own name; this process is "aigov".
    configure_logging(settings.log_level, SERVICE, log_file=settings.log_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for service in services:
                service.state.update(await stack.enter_async_context(running_lifespan(service.app)))
                logger.info("%s started", service.name, extra={"hosted_service": service.name})
            install_readiness_checks(app, _combined_checks(services))
            _print_banner(settings)
            demo_task = (
                asyncio.create_task(_load_demo(dispatcher, services, settings))
                if settings.demo
                else None
            )
            try:
                yield
            finally:
                install_readiness_checks(app, None)
                if demo_task is not None and not demo_task.done():
                    demo_task.cancel()
                    await asyncio.gather(demo_task, return_exceptions=True)
                logger.info("stopping services", extra={"services": [s.name for s in services]})

    front = FastAPI(
        title="aigov",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # FastAPI's own pages load their assets from a CDN; install_docs serves them offline.
        docs_url=None,
        redoc_url=None,
    )
    install_token_registry(front, TokenRegistry(settings.principals_by_token()))
    install_problem_handlers(front)
    front.include_router(
        health_router(
            registry=merged_registry([s.app.state.metrics_registry for s in services]),
            metrics_public=settings.metrics_public,
            check_timeout=settings.readiness_timeout_seconds,
        )
    )
    install_docs(front, services=[s.name for s in services])
    host_policy = settings.host_policy()
    if host_policy is not None:
        # The services check their own routes; the front's pages (docs, /metrics) need it too.
        front.add_middleware(TrustedHostMiddleware, policy=host_policy)
    _serve_merged_openapi(front, services, host_checked=host_policy is not None)
    dispatcher = ServiceDispatcher(services, fallback=front)
    return dispatcher


@contextmanager
def _demo_access(services: list[HostedService], settings: Settings) -> Iterator[dict[str, str]]:
    """The demo's token per role while it loads: the public dev set when in effect, else minted.

    With tokens of its own configured, the installation may have no token for some role (or
    none at all on this machine's shell): the demo, which runs inside this process, gets random
    tokens for principals `demo-<role>` that this process's services accept only until the
    demo is done. They are never printed or logged. One principal per role keeps the
    separation of duties the demo relies on (its publisher is not its approver).
    """
    if settings.uses_dev_tokens:
        yield dict(DEV_TOKENS)
        return
    configured = settings.principals_by_token()
    minted = {role: f"demo-{secrets.token_urlsafe(32)}" for role in DEV_TOKENS}
    with_demo = TokenRegistry(
        {
            **configured,
            **{
                token: Principal(name=f"demo-{role}", roles=frozenset({Role(role)}))
                for role, token in minted.items()
            },
        }
    )
    for service in services:
        install_token_registry(service.app, with_demo)
    try:
        yield minted
    finally:
        for service in services:
            install_token_registry(service.app, TokenRegistry(configured))


async def _load_demo(app: ASGIApp, services: list[HostedService], settings: Settings) -> None:
    """Load the demo through this process's own HTTP API, then print what it showed."""
    base = f"http://{settings.http_host}:{settings.http_port}"
    try:
        with _demo_access(services, settings) as tokens:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=base, timeout=60.0
            ) as client:
                loaded = await demo.load(
                    demo.Demo(client, Endpoints.single(base), tokens=tokens, say=_say)
                )
    except (DemoError, httpx.HTTPError) as exc:
        logger.error("demo data could not be loaded: %s", exc)
        if settings.log_file is None:
            # With a log file, the console already shows errors (in one line, with the path).
            _say(f"demo data could not be loaded: {exc}")
        return
    if loaded is not None:
        _say(demo.summary(loaded, Endpoints.single(base)))


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _combined_checks(services: list[HostedService]) -> dict[str, ReadinessCheck]:
    checks: dict[str, ReadinessCheck] = {}
    for service in services:
        for name, check in (readiness_checks_of(service.app) or {}).items():
            checks[f"{service.name}.{name}"] = check
    return checks


def _serve_merged_openapi(
    front: FastAPI, services: list[HostedService], *, host_checked: bool
) -> None:
    own = front.openapi

    def openapi() -> dict[str, Any]:
        if front.openapi_schema is None:
            front_document = own()
            if host_checked:
                document_misdirected_requests(front_document)
            documents = [("aigov", front_document)] + [(s.name, s.app.openapi()) for s in services]
            front.openapi_schema = merge_openapi(
                documents, title="aigov", version=__version__, description=DESCRIPTION
            )
        return front.openapi_schema

    front.openapi = openapi  # type: ignore[method-assign]


def _print_banner(settings: Settings) -> None:
    """Tell the person who ran `make run` where to go (stderr; not a log line)."""
    base = f"http://{settings.http_host}:{settings.http_port}"
    lines = [
        "",
        f"aigov is running on {base} (all four services, data in {settings.data_dir}/)",
        f"  API docs:  {base}/docs",
        f"  dashboard: {base}/dashboard (sign in with a reader token)",
        f"  readiness: {base}/readyz",
    ]
    if settings.uses_dev_tokens:
        lines.append("  dev tokens (AIGOV_ENV=dev; public, never use them in production):")
        for role in ("publisher", "owner", "approver", "reader", "admin"):
            lines.append(f"    {role:<9}  dev-{role}-token-please-change")
        lines.append(
            f"  try: curl -H 'Authorization: Bearer dev-reader-token-please-change' {base}/v1/systems"
        )
    else:
        origins = ", ".join(
            name
            for name, value in (
                ("AIGOV_AUTH_TOKENS", settings.auth_tokens),
                ("AIGOV_AUTH_TOKENS_FILE", settings.auth_tokens_file),
                ("AIGOV_DEV_TOKENS", settings.dev_tokens),
            )
            if value is not None
        )
        lines.append(f"  tokens:    the ones you configured ({origins}); the dev tokens are off")
    if settings.log_file is not None:
        lines.append(f"  logs:      {settings.log_file} (errors are shown here too)")
    lines.append("  stop with Ctrl-C; data stays for the next start.")
    _say("\n".join(lines))
