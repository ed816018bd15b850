"""Evidence's HTTP API, all under /v1 (importable without the app, for the all-in-one server)."""

from __future__ import annotations

from fastapi import APIRouter

from aigov_evidence import dashboard
from aigov_evidence.api import documents, events, gate, kpis, oscal, releases, systems, verify

router = APIRouter(prefix="/v1")
router.include_router(events.router)
router.include_router(gate.router)
router.include_router(systems.router)
router.include_router(verify.router)
router.include_router(releases.router)
router.include_router(kpis.router)
router.include_router(documents.router)
router.include_router(oscal.router)

ROUTERS = (router, dashboard.router)
