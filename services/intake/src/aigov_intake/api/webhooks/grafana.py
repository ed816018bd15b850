"""`POST /v1/webhooks/grafana` (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
