"""The dashboard: server-rendered pages for governance leads, auditors and executives (/dashboard)."""

from __future__ import annotations

from aigov_evidence.dashboard.pages import router

__all__ = ["router"]
