"""`POST /v1/webhooks/github`: signed GitHub webhooks (deployments and their statuses).

Authenticated by `X-Hub-Signature-256` instead of a bearer token: a delivery that verifies
with the configured secret is sent by the synthetic principal `webhook:github` (publisher
role), and is rate-limited as that principal. The steps, in this order:

1. receiver configured (a secret is set), else 503: nothing unsigned is ever accepted;
2. signature verified on the raw bytes, else 401 (the `ping` GitHub sends when a webhook
   is created is verified too, so a wrong secret shows up at once);
3. rate limit for `webhook:github` (after verification, so forged traffic cannot use up
   GitHub's budget), else 429;
4. the body, a JSON object sent as JSON or in GitHub's form encoding (415/400/422);
   `ping` -> 200; the event's shape (422), the AI system and region (422); events aigov
   does not use -> 202, ignored;
5. published through the same accept pipeline as every other endpoint (202).
"""

from __future__ import annotations

import hashlib
import logging
import math
from typing import Any, Final
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response, status
from pydantic import Field, ValidationError

from aigov_intake.adapters import github as adapter
from aigov_intake.answers import ListsEvents
from aigov_intake.api import deps
from aigov_intake.api.webhooks._openapi import (
    header_parameter,
    query_parameter,
    signed_receiver_responses,
)
from aigov_intake.attribution import QUERY_PARAMETER, resolve_system
from aigov_intake.bodies import JSON_TYPES, field_errors_of, media_type, parse_json, unprocessable
from aigov_intake.service import REJECTED
from aigov_intake.settings import Settings
from aigov_intake.signatures import SignatureError, verify_github
from aigov_runtime.auth import Principal, Role
from aigov_runtime.errors import FieldError, ProblemError
from aigov_runtime.ratelimit import rate_limiter_of

log = logging.getLogger(__name__)

router = APIRouter()

VIA: Final = "webhook:github"
PRINCIPAL: Final = Principal(name=VIA, roles=frozenset({Role.PUBLISHER}))
SIGNATURE_HEADER: Final = "X-Hub-Signature-256"
EVENT_HEADER: Final = "X-GitHub-Event"
DELIVERY_HEADER: Final = "X-GitHub-Delivery"
FORM_TYPE: Final = "application/x-www-form-urlencoded"
_MAX_ECHO: Final = 200


class GithubReceipt(ListsEvents):
    """What intake did with a GitHub delivery."""

    delivery: str | None = Field(description="The delivery's X-GitHub-Delivery.")
    event: str = Field(description="The GitHub event (X-GitHub-Event).")
    accepted: list[str] = Field(description="Ids of the aigov events published.")
    duplicates: list[str] = Field(
        default_factory=list, description="Ids already published by an earlier delivery."
    )
    ignored: str | None = Field(
        default=None, description="Why nothing was published, when the event is not used."
    )


OPENAPI: Final[dict[str, Any]] = {
    "parameters": [
        header_parameter(SIGNATURE_HEADER, "`sha256=<hex HMAC-SHA256(secret, body)>`."),
        header_parameter(EVENT_HEADER, "`deployment`, `deployment_status`, `ping`, ..."),
        header_parameter(DELIVERY_HEADER, "GUID of the delivery.", required=False),
        query_parameter(
            QUERY_PARAMETER, "The AI system, when deployments carry no `payload.ai_system`."
        ),
        query_parameter(
            adapter.REGION_PARAMETER, "The region, when deployments carry no `payload.ai_region`."
        ),
    ],
    "requestBody": {
        "required": True,
        "description": "The event payload GitHub sends, as JSON or form-encoded (`payload=`).",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            FORM_TYPE: {
                "schema": {
                    "type": "object",
                    "required": ["payload"],
                    "properties": {"payload": {"type": "string"}},
                }
            },
        },
    },
}


def _settings(request: Request) -> Settings:
    """Intake's settings, if the GitHub receiver has a secret (503 otherwise)."""
    settings = getattr(request.app.state, "settings", None)
    if not isinstance(settings, Settings) or not settings.webhook_secrets("github"):
        log.warning("GitHub delivery refused: no AIGOV_GITHUB_WEBHOOK_SECRET configured")
        raise ProblemError(
            503,
            "the GitHub webhook receiver is not configured (no secret set); "
            "deliveries are refused rather than accepted unsigned",
        )
    return settings


def _reject(reason: str) -> None:
    """Count a refused delivery like every other refused event."""
    REJECTED.labels(VIA, reason).inc()


def _verify(request: Request, raw: bytes, settings: Settings) -> None:
    try:
        verify_github(
            raw, request.headers.get(SIGNATURE_HEADER), secrets=settings.webhook_secrets("github")
        )
    except SignatureError as exc:
        _reject("unauthenticated")
        log.warning("GitHub delivery refused", extra={"reason": str(exc)})
        raise ProblemError(
            401,
            str(exc),
            headers={"WWW-Authenticate": f'HMAC realm="aigov", header="{SIGNATURE_HEADER}"'},
        ) from None


def _rate_limit(request: Request) -> None:
    # The app's one limiter (the runtime's), keyed by the sender: a signed delivery has no
    # token, and "webhook:" keys never meet the "principal:" ones.
    wait = rate_limiter_of(request.app).acquire(f"webhook:{VIA}")
    if wait > 0:
        _reject("rate_limited")
        raise ProblemError(
            429,
            "rate limit exceeded for GitHub deliveries; retry later",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


def _body(request: Request, raw: bytes) -> Any:
    """The payload, from JSON or from GitHub's form encoding (`payload=<json>`)."""
    kind = media_type(request)
    if kind in JSON_TYPES:
        return parse_json(raw)
    if kind == FORM_TYPE:
        try:
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise ProblemError(400, "form body is not UTF-8") from None
        payload = form.get("payload")
        if not payload:
            raise ProblemError(400, "form-encoded deliveries carry the JSON in a `payload` field")
        return parse_json(payload[0].encode("utf-8"))
    _reject("content_type")
    accepted = ", ".join((*sorted(JSON_TYPES), FORM_TYPE))
    raise ProblemError(
        415,
        f"Content-Type {kind or '(none)'!r} is not accepted here; send one of: {accepted}",
        headers={"Accept-Post": accepted},
    )


@router.post(
    "/github",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Receive a signed GitHub webhook (deployments, deployment statuses)",
    response_model=GithubReceipt,
    openapi_extra=OPENAPI,
    responses={
        200: {"model": GithubReceipt, "description": "A `ping`: the webhook is set up."},
        **signed_receiver_responses(
            400,
            401,
            413,
            415,
            422,
            429,
            tool="GitHub",
            secret_variable="AIGOV_GITHUB_WEBHOOK_SECRET",
        ),
    },
)
async def post_github(request: Request, response: Response) -> GithubReceipt:
    """Verify a GitHub delivery, map deployments to deployment events and publish them (202)."""
    settings = _settings(request)
    raw = await request.body()
    _verify(request, raw, settings)
    _rate_limit(request)
    event = (request.headers.get(EVENT_HEADER) or "").strip()
    if not event:
        raise ProblemError(400, f"missing {EVENT_HEADER} header")
    echo = (request.headers.get(DELIVERY_HEADER) or "")[:_MAX_ECHO] or None
    body = _body(request, raw)
    if not isinstance(body, dict):
        _reject("invalid")
        raise unprocessable(
            "a GitHub delivery is a JSON object",
            [FieldError(loc=["body"], msg="expected an object", type="dict_type")],
        )
    if event == "ping":
        response.status_code = status.HTTP_200_OK
        return GithubReceipt(
            delivery=echo, event=event, accepted=[], ignored="ping: the webhook is set up"
        )
    try:
        facts = adapter.interpret(event, body)
    except ValidationError as exc:
        _reject("invalid")
        raise unprocessable(
            f"not a GitHub {event} delivery", field_errors_of(exc, ("body",))
        ) from None
    if isinstance(facts, adapter.Ignored):
        log.info("GitHub delivery ignored", extra={"event": event, "delivery": echo})
        return GithubReceipt(delivery=echo, event=event, accepted=[], ignored=facts.reason)
    system_id = resolve_system(request, facts.system_candidates, looked_in=facts.looked_in)
    try:
        events = adapter.to_events(
            facts,
            system_id=system_id,
            region=request.query_params.get(adapter.REGION_PARAMETER) or None,
            body_digest=hashlib.sha256(raw).hexdigest(),
            actor=PRINCIPAL.name,
        )
    except adapter.MappingError as exc:
        _reject("invalid")
        raise unprocessable(exc.detail, exc.errors) from None
    result = await deps.accept(request, events, principal=PRINCIPAL, via=VIA)
    log.info(
        "GitHub delivery accepted",
        extra={"event": event, "delivery": echo, "system_id": system_id},
    )
    return GithubReceipt(delivery=echo, event=event, **result.answer())
