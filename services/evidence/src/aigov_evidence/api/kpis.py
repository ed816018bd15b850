"""Governance KPIs over the ledger and projections (definitions: docs/kpis.md)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
