"""Webhook adapters: other tools' payloads, accepted unchanged, mapped to catalog events."""

from __future__ import annotations

from fastapi import APIRouter

from aigov_intake.api.webhooks import alertmanager, cdevents, github, grafana, mlflow, openlineage
from aigov_runtime.tags import Tag

router = APIRouter(prefix="/v1/webhooks", tags=[Tag.INTEGRATIONS])
for _module in (cdevents, openlineage, alertmanager, grafana, mlflow, github):
    router.include_router(_module.router)
