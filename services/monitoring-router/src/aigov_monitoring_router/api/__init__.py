"""The router's HTTP API under `/v1` (routes, silences, escalations, probes, deliveries, inbox).

`ROUTERS` is importable without building the app, so the embedded all-in-one server can
mount it next to the other services' routers (the prefixes are disjoint).
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter

from aigov_monitoring_router.api import inbox, operations, routes, silences

router = APIRouter(prefix="/v1")
for _module in (routes, silences, operations, inbox):
    router.include_router(_module.router)

ROUTERS: Final = (router,)
