"""`/`, `/docs` and `/redoc` served entirely by the process itself: they work offline.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so behind a firewall or on a plane
`/docs` is blank. The JavaScript, CSS and favicon come from the `fastapi-offline` package
(Swagger UI 5 and ReDoc 2 builds, kept current by its maintainer) and are served under
`/docs/assets/`; the pages name no other host, and their Content-Security-Policy tells the
browser to fetch nothing from anywhere else. None of these pages needs a token: they show
the same public OpenAPI document `/openapi.json` serves; the Host check still applies.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from aigov_runtime.tags import Tag

__all__ = [
    "ASSETS_DIR",
    "DOCS_ASSETS_PATH",
    "DOCS_PATHS",
    "DOCS_PREFIX",
    "Landing",
    "install_docs",
]

DOCS_PATHS: Final = frozenset({"/", "/docs", "/redoc"})
DOCS_PREFIX: Final = "/docs/"
DOCS_ASSETS_PATH: Final = "/docs/assets"
ASSETS_DIR: Final = Path(fastapi_offline.__file__).parent / "static"
"""Where the installed `fastapi-offline` keeps the Swagger UI and ReDoc builds."""

# Swagger UI and ReDoc boot from an inline script and style; everything else is ours.
# `blob:` workers are ReDoc's search index; `data:` images are Swagger UI's icons.
_CSP: Final = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_PAGE_HEADERS: Final = {"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff"}
_LINKS: Final = (
    ("docs", "/docs", "API reference (Swagger UI)"),
    ("redoc", "/redoc", "API reference (ReDoc)"),
    ("openapi", "/openapi.json", "OpenAPI document"),
    ("readiness", "/readyz", "Readiness of every dependency"),
    ("liveness", "/healthz", "Liveness"),
)


class Landing(BaseModel):
    """What `/` answers: which services this process serves and where their docs are."""

    title: str
    version: str
    services: list[str] = Field(description="The aigov services this process serves.")
    links: dict[str, str] = Field(description="Relative URLs by name: docs, openapi, readiness.")


def install_docs(app: FastAPI, *, services: Sequence[str]) -> None:
    """Serve `/`, `/docs`, `/redoc` and their assets on `app` (built with no docs URLs)."""
    app.mount(DOCS_ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    app.include_router(_docs_router(app, services=list(services)))


def _asset(request: Request, name: str) -> str:
    return f"{request.scope.get('root_path', '')}{DOCS_ASSETS_PATH}/{name}"


def _docs_router(app: FastAPI, *, services: list[str]) -> APIRouter:
    router = APIRouter()

    @router.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        """Swagger UI for this process's OpenAPI document, from local assets only."""
        page = get_swagger_ui_html(
            openapi_url=f"{request.scope.get('root_path', '')}{app.openapi_url}",
            title=f"{app.title} - API docs",
            swagger_js_url=_asset(request, "swagger-ui-bundle.js"),
            swagger_css_url=_asset(request, "swagger-ui.css"),
            swagger_favicon_url=_asset(request, "favicon.png"),
            # The online validator badge would call validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )
        page.headers.update(_PAGE_HEADERS)
        return page

    @router.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        """ReDoc for this process's OpenAPI document, from local assets only."""
        page = get_redoc_html(
            openapi_url=f"{request.scope.get('root_path', '')}{app.openapi_url}",
            title=f"{app.title} - API docs",
            redoc_js_url=_asset(request, "redoc.standalone.js"),
            redoc_favicon_url=_asset(request, "favicon.png"),
            with_google_fonts=False,
        )
        page.headers.update(_PAGE_HEADERS)
        return page

    @router.get(
        "/",
        tags=[Tag.OPERATIONS],
        summary="What this process serves",
        response_model=Landing,
        responses={200: {"content": {"text/html": {}}, "description": "Links to the docs."}},
    )
    async def landing(request: Request) -> Response:
        """Name the services served here and link their docs and probes (HTML or JSON by Accept)."""
        landing = Landing(
            title=app.title,
            version=app.version,
            services=services,
            links={name: href for name, href, _ in _LINKS},
        )
        if _wants_json(request.headers.get("accept", "")):
            return JSONResponse(landing.model_dump())
        return HTMLResponse(_landing_html(landing), headers=_PAGE_HEADERS)

    return router


def _wants_json(accept: str) -> bool:
    """True when the client names JSON and not HTML (curl's `*/*` gets the page)."""
    media = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(media & {"application/json", "application/*"}) and "text/html" not in media


def _landing_html(landing: Landing) -> str:
    title = html.escape(landing.title)
    services = ", ".join(html.escape(name) for name in landing.services)
    items = "\n".join(
        f'    <li><a href="{href}">{html.escape(label)}</a> <code>{href}</code></li>'
        for _, href, label in _LINKS
    )
    return (
        "<!doctype html>\n"
        f'<html lang="en">\n<head>\n  <meta charset="utf-8">\n  <title>{title}</title>\n'
        f'  <link rel="icon" href="{DOCS_ASSETS_PATH}/favicon.png">\n</head>\n<body>\n'
        f"  <h1>{title} <small>{html.escape(landing.version)}</small></h1>\n"
        f"  <p>Serving: {services}</p>\n  <ul>\n{items}\n  </ul>\n"
        "  <p>API calls need a bearer token; these pages do not.</p>\n</body>\n</html>\n"
    )
