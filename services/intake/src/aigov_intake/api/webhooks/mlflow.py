"""`POST /v1/webhooks/mlflow`: signed MLflow model-registry webhooks.

Authenticated by MLflow's signature instead of a bearer token: a delivery that verifies
with the configured secret is sent by the synthetic principal `webhook:mlflow` (publisher
role), and is rate-limited as that principal. The steps, in this order:

1. receiver configured (a secret is set), else 503: nothing unsigned is ever accepted;
2. signature and signed timestamp verified on the raw bytes, else 401;
3. rate limit for `webhook:mlflow` (after verification, so forged traffic cannot use up
   MLflow's budget), else 429;
4. JSON (415/400), the envelope and the action's data (422), the AI system (422);
5. published through the same accept pipeline as every other endpoint (202).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any, Final

from fastapi import APIRouter, Request, status
from pydantic import Field, ValidationError

from aigov_intake.adapters import mlflow as adapter
from aigov_intake.answers import ListsEvents
from aigov_intake.api import deps
from aigov_intake.api.webhooks._openapi import (
    header_parameter,
    query_parameter,
    signed_receiver_responses,
)
from aigov_intake.attribution import QUERY_PARAMETER, resolve_system
from aigov_intake.bodies import (
    JSON_TYPES,
    field_errors_of,
    media_type,
    parse_json,
    require_media_type,
    unprocessable,
)
from aigov_intake.service import REJECTED
from aigov_intake.settings import Settings
from aigov_intake.signatures import MlflowScheme, SignatureError, verify_mlflow
from aigov_runtime.auth import Principal, Role
from aigov_runtime.errors import ProblemError
from aigov_runtime.ratelimit import rate_limiter_of

log = logging.getLogger(__name__)

router = APIRouter()

VIA: Final = "webhook:mlflow"
PRINCIPAL: Final = Principal(name=VIA, roles=frozenset({Role.PUBLISHER}))
SIGNATURE_HEADER: Final = "X-MLflow-Signature"
DELIVERY_HEADER: Final = "X-MLflow-Delivery-Id"
TIMESTAMP_HEADER: Final = "X-MLflow-Timestamp"
_MAX_ECHO: Final = 200


class MlflowReceipt(ListsEvents):
    """What intake did with an MLflow delivery."""

    delivery: str | None = Field(description="The delivery's X-MLflow-Delivery-Id.")
    event: str = Field(description="The MLflow event, `<entity>.<action>`.")
    accepted: list[str] = Field(description="Ids of the aigov events published.")
    duplicates: list[str] = Field(
        default_factory=list, description="Ids already published by an earlier delivery."
    )
    ignored: str | None = Field(
        default=None, description="Why nothing was published, when the event is not used."
    )
    notes: list[str] = Field(
        default_factory=list, description="What was left out of the published event, and why."
    )


OPENAPI: Final[dict[str, Any]] = {
    "parameters": [
        header_parameter(SIGNATURE_HEADER, "`v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`."),
        header_parameter(DELIVERY_HEADER, "Unique id of the delivery (signed)."),
        header_parameter(TIMESTAMP_HEADER, "Unix seconds when MLflow sent it (signed)."),
        query_parameter(
            QUERY_PARAMETER, "The AI system, when the model version has no `ai_system` tag."
        ),
    ],
    "requestBody": {
        "required": True,
        "description": "An MLflow webhook delivery, `{entity, action, timestamp, data}`.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["entity", "action", "timestamp", "data"],
                    "properties": {
                        "entity": {"type": "string"},
                        "action": {"type": "string"},
                        "timestamp": {"type": "string", "format": "date-time"},
                        "data": {"type": "object"},
                    },
                },
                "example": {
                    "entity": "model_version",
                    "action": "created",
                    "timestamp": "2026-02-03T10:15:00.000000+00:00",
                    "data": {
                        "name": "resume-ranker",
                        "version": "14",
                        "source": "models:/m-5f3c2a",
                        "run_id": "abcd1234abcd5678",
                        "tags": {"ai_system": "resume-screener", "ai_release": "2026.2.0"},
                        "description": None,
                    },
                },
            }
        },
    },
}


def _settings(request: Request) -> Settings:
    """Intake's settings, if the MLflow receiver has a secret (503 otherwise)."""
    settings = getattr(request.app.state, "settings", None)
    if not isinstance(settings, Settings) or not settings.webhook_secrets("mlflow"):
        log.warning("MLflow delivery refused: no AIGOV_MLFLOW_WEBHOOK_SECRET configured")
        raise ProblemError(
            503,
            "the MLflow webhook receiver is not configured (no secret set); "
            "deliveries are refused rather than accepted unsigned",
        )
    return settings


def _verify(request: Request, raw: bytes, settings: Settings) -> str:
    """The key deliveries are de-duplicated by: what the verified signature covers."""
    try:
        scheme = verify_mlflow(
            raw,
            signature=request.headers.get(SIGNATURE_HEADER),
            delivery_id=request.headers.get(DELIVERY_HEADER),
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            secrets=settings.webhook_secrets("mlflow"),
            now=time.time(),
            tolerance_seconds=settings.mlflow_webhook_tolerance_seconds,
            accept_legacy=settings.mlflow_accept_legacy_signature,
        )
    except SignatureError as exc:
        _reject("unauthenticated")
        log.warning("MLflow delivery refused", extra={"reason": str(exc)})
        raise ProblemError(
            401,
            str(exc),
            headers={"WWW-Authenticate": f'HMAC realm="aigov", header="{SIGNATURE_HEADER}"'},
        ) from None
    if scheme is MlflowScheme.LEGACY:
        # The legacy form signs the body only: the delivery id could be replayed under a new
        # value, so the body itself (which carries MLflow's own timestamp) keys the dedup.
        log.info("MLflow delivery verified with the legacy sha256= signature")
        return f"mlflow-body:{hashlib.sha256(raw).hexdigest()}"
    return f"mlflow-delivery:{request.headers[DELIVERY_HEADER]}"


def _reject(reason: str) -> None:
    """Count a refused delivery like every other refused event."""
    REJECTED.labels(VIA, reason).inc()


def _rate_limit(request: Request) -> None:
    # The app's one limiter (the runtime's), keyed by the sender: a signed delivery has no
    # token, and "webhook:" keys never meet the "principal:" ones.
    wait = rate_limiter_of(request.app).acquire(f"webhook:{VIA}")
    if wait > 0:
        _reject("rate_limited")
        raise ProblemError(
            429,
            "rate limit exceeded for MLflow deliveries; retry later",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


def _delivery(request: Request, raw: bytes) -> adapter.MlflowDelivery:
    got = media_type(request)
    if got not in JSON_TYPES and not got.endswith("+json"):
        _reject("content_type")
        require_media_type(request, JSON_TYPES)
    body = parse_json(raw)
    try:
        return adapter.parse_delivery(body)
    except ValidationError as exc:
        _reject("invalid")
        raise unprocessable("not an MLflow webhook delivery", field_errors_of(exc)) from None


@router.post(
    "/mlflow",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Receive a signed MLflow model-registry webhook",
    response_model=MlflowReceipt,
    openapi_extra=OPENAPI,
    responses=signed_receiver_responses(
        400, 401, 413, 415, 422, 429, tool="MLflow", secret_variable="AIGOV_MLFLOW_WEBHOOK_SECRET"
    ),
)
async def post_mlflow(request: Request) -> MlflowReceipt:
    """Verify an MLflow delivery, map it to a model-version event and publish it (202)."""
    settings = _settings(request)
    raw = await request.body()
    delivery_key = _verify(request, raw, settings)
    _rate_limit(request)
    delivery = _delivery(request, raw)
    echo = (request.headers.get(DELIVERY_HEADER) or "")[:_MAX_ECHO] or None
    try:
        statement = adapter.interpret(delivery)
    except ValidationError as exc:
        _reject("invalid")
        raise unprocessable(
            f"the data of {delivery.event} is not what MLflow documents",
            field_errors_of(exc, ("body", "data")),
        ) from None
    if isinstance(statement, adapter.Ignored):
        log.info("MLflow delivery ignored", extra={"event": delivery.event, "delivery": echo})
        return MlflowReceipt(
            delivery=echo, event=delivery.event, accepted=[], ignored=statement.reason
        )
    system_id = resolve_system(request, statement.system_candidates, looked_in=statement.looked_in)
    try:
        events = adapter.to_events(
            statement,
            system_id=system_id,
            delivery_key=delivery_key,
            actor=PRINCIPAL.name,
            time=delivery.timestamp,
        )
    except adapter.MappingError as exc:
        _reject("invalid")
        raise unprocessable(exc.detail, exc.errors) from None
    result = await deps.accept(request, events, principal=PRINCIPAL, via=VIA)
    log.info(
        "MLflow delivery accepted",
        extra={"event": delivery.event, "delivery": echo, "system_id": system_id},
    )
    return MlflowReceipt(
        delivery=echo,
        event=delivery.event,
        notes=list(statement.notes),
        **result.answer(),
    )
