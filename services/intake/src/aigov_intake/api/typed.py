"""Typed shortcuts (being built): plain JSON bodies turned into catalog events."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
