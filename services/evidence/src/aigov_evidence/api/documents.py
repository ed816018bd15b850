"""Generated documents per release: system card, model card, EU AI Act Annex IV technical documentation."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
