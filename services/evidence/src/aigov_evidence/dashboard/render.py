"""Templates and the headers every dashboard response carries.

Jinja2 autoescapes every value (names, reasons and ids come from clients' events); the pages
run no inline script and load nothing from another origin, which the Content-Security-Policy
makes the browser enforce.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Final

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from aigov_evidence.dashboard.session import Viewer

TEMPLATES: Final = Path(__file__).parent / "templates"
STATIC: Final = Path(__file__).parent / "static"

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def _when(value: datetime | None) -> str:
    """A timestamp as people read it: `2026-12-03 08:18 UTC`."""
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M UTC")


_ENV: Final = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["when"] = _when
# Defaults the layout reads; a page overrides them.
_ENV.globals["section"] = ""
_ENV.globals["kpis_available"] = True


def page(
    template: str,
    *,
    viewer: Viewer | None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render `template` with the viewer (for the header and the sign-out form)."""
    body = _ENV.get_template(template).render(viewer=viewer, **context)
    return HTMLResponse(
        body, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})}
    )
