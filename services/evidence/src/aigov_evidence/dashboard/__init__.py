"""The dashboard: server-rendered pages for governance leads, auditors and executives (/dashboard)."""

from __future__ import annotations

from fastapi import APIRouter

from aigov_evidence.dashboard import oidc_pages, pages

router = APIRouter()
router.include_router(pages.router)
router.include_router(oidc_pages.router)

__all__ = ["router"]
