"""The dashboard's routes: sign-in and sign-out, register, system page, work queues, assets.

Every page but the sign-in page and the static assets needs a session (`SignedIn`); a
signed-out visitor is redirected (303) to `/dashboard/sign-in`, with the page asked for as
`next` (only a `/dashboard` path, so the redirect cannot leave the site).
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from typing import Annotated, Final, Literal
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from aigov_events.catalog.primitives import SYSTEM_ID_PATTERN
from aigov_evidence.api.deps import (
    NO_NUL_PATTERN,
    VERSION_PATTERN,
    Now,
    Session,
    SystemPath,
    VersionPath,
)
from aigov_evidence.dashboard import trends, views
from aigov_evidence.dashboard.oidc import config_of
from aigov_evidence.dashboard.render import SECURITY_HEADERS, STATIC, page
from aigov_evidence.dashboard.session import (
    Viewer,
    csrf_matches,
    may_read,
    open_session,
    read_session,
    resolve_token,
    set_session_cookie,
)
from aigov_evidence.documents import (
    DocumentFormat,
    DocumentKind,
    NotApplicable,
    ReleaseNotFound,
    render_document,
)
from aigov_runtime.errors import ProblemError
from aigov_runtime.ratelimit import RateLimiter
from aigov_runtime.tags import Tag

# Pages, not API operations: kept out of the OpenAPI document, as the docs pages are.
router = APIRouter(prefix="/dashboard", tags=[Tag.SYSTEMS], include_in_schema=False)

SIGN_IN: Final = "/dashboard/sign-in"
#: Where `next` may point: a dashboard path with a plain query, nothing that leaves the site.
NEXT_PATTERN: Final = r"^/dashboard(/[A-Za-z0-9._~%/-]*)?(\?[A-Za-z0-9._~%=&+-]*)?$"
MAX_FORM_BYTES: Final = 4096
MAX_TOKEN_CHARS: Final = 512
#: Sign-in attempts per client address: 10 at once, then one every 6 seconds.
SIGN_IN_BURST: Final = 10
SIGN_IN_RATE: Final = 1 / 6
_LIMITER_STATE_KEY: Final = "aigov_dashboard_sign_in_limiter"
_ASSETS: Final = {"dashboard.css": "text/css; charset=utf-8"}


async def signed_in(request: Request, now: Now) -> Viewer:
    """The session's viewer; a signed-out visitor is sent to the sign-in page (303)."""
    viewer = read_session(request, now=now)
    if viewer is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = SIGN_IN
        if len(target) <= 1000 and safe_next(target):
            location += f"?next={quote(target, safe='')}"
        raise ProblemError(
            303, "sign in to see the dashboard", headers={**SECURITY_HEADERS, "Location": location}
        )
    return viewer


SignedIn = Annotated[Viewer, Depends(signed_in)]
# The filter forms send an empty value for "any", so "" is accepted and means no filter.
Tier = Literal["", "prohibited", "high", "medium", "low"]
Gate = Literal["", "allow", "deny"]
Next = Annotated[
    str | None,
    Query(max_length=1000, pattern=NEXT_PATTERN, description="The page to go to after."),
]


def safe_next(target: str | None) -> bool:
    """Whether `target` may be followed after sign-in (a `/dashboard` path, nothing else)."""
    return target is not None and re.fullmatch(NEXT_PATTERN, target) is not None


def sign_in_wait(request: Request) -> float:
    """Seconds this address must wait before its next sign-in attempt (token form and OIDC
    alike); 0 when it may try now, which uses up one attempt."""
    limiter = getattr(request.app.state, _LIMITER_STATE_KEY, None)
    if not isinstance(limiter, RateLimiter):
        limiter = RateLimiter(rate=SIGN_IN_RATE, burst=SIGN_IN_BURST)
        setattr(request.app.state, _LIMITER_STATE_KEY, limiter)
    client = request.client.host if request.client else "unknown"
    return limiter.acquire(f"sign-in:{client}")


def same_origin(request: Request) -> bool:
    """Whether a POST comes from a page of this site (Origin, else Sec-Fetch-Site)."""
    origin = request.headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        host = request.headers.get("host", "")
        return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower() != ""
    # Browsers send Origin on every form POST; without it only Fetch Metadata can vouch.
    return request.headers.get("sec-fetch-site") == "same-origin"


async def _form(request: Request) -> dict[str, str] | None:
    """The fields of a small urlencoded form (each once), or None for anything else."""
    if request.headers.get("content-type", "").split(";")[0].strip() != (
        "application/x-www-form-urlencoded"
    ):
        return None
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return None
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=10, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return None
    if any(len(values) != 1 for values in fields.values()):
        return None
    return {name: values[0] for name, values in fields.items()}


def _sign_in_page(
    request: Request,
    *,
    message: str | None,
    next_page: str | None,
    status_code: int,
    **headers: str,
) -> Response:
    oidc = config_of(request.app.state.settings)
    return page(
        "sign_in.html.j2",
        viewer=None,
        status_code=status_code,
        headers=headers or None,
        message=message,
        next_page=next_page if safe_next(next_page) else None,
        oidc_provider=oidc.provider_name if oidc is not None else None,
    )


@router.get("/sign-in", summary="Sign-in page")
async def sign_in_page(request: Request, now: Now, next: Next = None) -> Response:
    """The sign-in form (a signed-in visitor goes straight on)."""
    if read_session(request, now=now) is not None:
        return RedirectResponse(next or "/dashboard", 303, headers=SECURITY_HEADERS)
    return _sign_in_page(request, message=None, next_page=next, status_code=200)


@router.post("/sign-in", summary="Sign in with a reader token")
async def sign_in(request: Request, now: Now) -> Response:
    """Open a session for a token with the reader (or admin) role, from this site's form only."""
    if not same_origin(request):
        return _sign_in_page(
            request,
            message="Sign-in refused: the form was not sent from this site.",
            next_page=None,
            status_code=403,
        )
    wait = sign_in_wait(request)
    if wait > 0:
        return _sign_in_page(
            request,
            message="Too many sign-in attempts from your address; try again in a minute.",
            next_page=None,
            status_code=429,
            **{"Retry-After": str(max(1, math.ceil(wait)))},
        )
    form = await _form(request)
    if form is None:
        return _sign_in_page(
            request,
            message="Sign-in refused: send the form as it is on this page.",
            next_page=None,
            status_code=400,
        )
    next_page = form.get("next") or None
    token = form.get("token", "").strip()
    if not token or len(token) > MAX_TOKEN_CHARS:
        return _sign_in_page(
            request,
            message=f"Paste your access token (at most {MAX_TOKEN_CHARS} characters).",
            next_page=next_page,
            status_code=400,
        )
    principal = resolve_token(request, token)
    if principal is None:
        return _sign_in_page(
            request, message="That token is not valid here.", next_page=next_page, status_code=401
        )
    if not may_read(principal):
        return _sign_in_page(
            request,
            message=(
                f"The token of {principal.name} cannot open the dashboard: it needs the reader "
                "(or admin) role. Ask your aigov administrator for a reader token."
            ),
            next_page=next_page,
            status_code=403,
        )
    response = RedirectResponse(
        next_page if safe_next(next_page) and next_page else "/dashboard",
        303,
        headers=SECURITY_HEADERS,
    )
    set_session_cookie(response, request, open_session(request, token, principal, now=now))
    return response


@router.post("/sign-out", summary="Sign out")
async def sign_out(request: Request, viewer: SignedIn) -> Response:
    """End the session (the form must carry the session's CSRF token)."""
    form = await _form(request)
    if form is None or not csrf_matches(viewer, form.get("csrf")):
        return page(
            "message.html.j2",
            viewer=viewer,
            status_code=403,
            title="Sign-out refused",
            message="The form did not carry this session's CSRF token. Use the Sign out button.",
        )
    response = RedirectResponse(SIGN_IN, 303, headers=SECURITY_HEADERS)
    set_session_cookie(response, request, None)
    return response


@router.get("", summary="Register of AI systems")
async def register_page(
    viewer: SignedIn,
    session: Session,
    now: Now,
    q: Annotated[
        str | None,
        Query(max_length=100, pattern=NO_NUL_PATTERN, description="Search id, name, owner, team."),
    ] = None,
    tier: Annotated[Tier | None, Query(description="Tier; empty: any.")] = None,
    team: Annotated[str | None, Query(max_length=200, pattern=NO_NUL_PATTERN)] = None,
    gate: Annotated[Gate | None, Query(description="Last gate decision; empty: any.")] = None,
    after: Annotated[
        str | None, Query(pattern=SYSTEM_ID_PATTERN, description="Continue after this system.")
    ] = None,
) -> Response:
    """Every AI system with tier, owner, team, gate status, gaps, waivers and incidents."""
    q, team = (q or "").strip() or None, (team or "").strip() or None
    tier, gate = tier or None, gate or None
    found = await views.register(
        session, q=q, tier=tier, team=team, gate=gate, after=after, now=now
    )
    return page(
        "register.html.j2",
        viewer=viewer,
        register=found,
        filters={"q": q or "", "tier": tier or "", "team": team or "", "gate": gate or ""},
        page_size=views.PAGE_SIZE,
        search_scan=views.SEARCH_SCAN,
        now=now,
    )


@router.get("/systems/{system_id}", summary="One AI system")
async def system_page(
    system_id: SystemPath,
    viewer: SignedIn,
    session: Session,
    now: Now,
    version: Annotated[
        str | None, Query(pattern=VERSION_PATTERN, description="Release to show.")
    ] = None,
) -> Response:
    """Manifest summary, tier and why, control matrix, timeline, waivers and incidents."""
    found = await views.system_page(session, system_id, version=version, now=now)
    if found is None:
        return page(
            "message.html.j2",
            viewer=viewer,
            status_code=404,
            title="No such AI system",
            message=f"The inventory has no AI system {system_id!r}.",
        )
    return page(
        "system.html.j2",
        viewer=viewer,
        p=found,
        now=now,
        documents=document_kinds(),
        timeline_size=views.TIMELINE,
        notifications_size=views.NOTIFICATIONS_SHOWN,
    )


@router.get("/queues", summary="Work queues")
async def queues_page(viewer: SignedIn, session: Session, now: Now) -> Response:
    """Waivers expiring within 14 days and releases waiting for approval."""
    found = await views.queues(session, now=now)
    return page(
        "queues.html.j2",
        viewer=viewer,
        queues=found,
        definition=views.QUEUE_DEFINITION,
        scan=views.QUEUE_SCAN,
        now=now,
    )


@router.get("/static/{name}", summary="Dashboard assets")
async def static_asset(name: Annotated[str, Path(max_length=64)]) -> Response:
    """The dashboard's stylesheet (no session needed; served by aigov itself, never a CDN)."""
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise ProblemError(404, f"no dashboard asset {name!r}")
    return Response(
        (STATIC / name).read_bytes(),
        media_type=media_type,
        headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"},
    )


@router.get("/kpis", summary="Governance KPIs over time")
async def kpis_page(
    viewer: SignedIn,
    session: Session,
    now: Now,
    period: Annotated[Literal["week", "month"], Query(description="Window length.")] = "week",
    tier: Annotated[Tier | None, Query(description="Tier; empty: any.")] = None,
    team: Annotated[str | None, Query(max_length=200, pattern=NO_NUL_PATTERN)] = None,
) -> Response:
    """Every governance KPI over six consecutive windows, charted as inline SVG."""
    team, tier = (team or "").strip() or None, tier or None
    series, spans = await trends.kpi_trends(session, period=period, tier=tier, team=team, now=now)
    return page(
        "kpis.html.j2",
        viewer=viewer,
        series=series,
        spans=spans,
        filters={"period": period, "tier": tier or "", "team": team or ""},
        now=now,
    )


_DOCUMENT_TITLES: Final = {
    DocumentKind.SYSTEM_CARD: "System card",
    DocumentKind.MODEL_CARD: "Model card",
    DocumentKind.ANNEX_IV: "EU AI Act Annex IV technical documentation",
}
_STYLE: Final = re.compile(r"<style>(.*?)</style>", re.S)


def document_kinds() -> list[tuple[str, str]]:
    """The release documents the system page links to: (kind, title)."""
    return [(kind.value, title) for kind, title in _DOCUMENT_TITLES.items()]


def _document_csp(body: str) -> str:
    """The CSP of a generated document: nothing but its own inline styles, by hash."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(m.group(1).encode()).digest()).decode() + "'"
        for m in _STYLE.finditer(body)
    ]
    return (
        f"default-src 'none'; style-src {' '.join(hashes) or repr('none')}; "
        "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


@router.get(
    "/systems/{system_id}/releases/{version}/documents/{kind}", summary="A release document"
)
async def document_page(
    system_id: SystemPath,
    version: VersionPath,
    kind: Annotated[DocumentKind, Path(description="system-card, model-card or annex-iv.")],
    viewer: SignedIn,
    session: Session,
    now: Now,
) -> Response:
    """The generated document of the release as an HTML page (404 unknown, 409 not applicable)."""
    try:
        document = await render_document(
            session, system_id, version, kind, DocumentFormat.HTML, now=now
        )
    except ReleaseNotFound as exc:
        return page(
            "message.html.j2",
            viewer=viewer,
            status_code=404,
            title="No such release",
            message=str(exc),
        )
    except NotApplicable as exc:
        return page(
            "message.html.j2",
            viewer=viewer,
            status_code=409,
            title="Document not applicable",
            message=str(exc),
        )
    return Response(
        document.body,
        media_type=document.media_type,
        headers={
            **SECURITY_HEADERS,
            "Content-Security-Policy": _document_csp(document.body),
            "Content-Disposition": f'inline; filename="{document.filename}"',
        },
    )
