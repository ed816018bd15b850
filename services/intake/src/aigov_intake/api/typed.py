"""Typed endpoints: plain JSON (or YAML) bodies in the public format, turned into catalog events.

Every route ends in `deps.accept`, like `/v1/events`, so roles, separation of duties,
de-duplication and the publish-after-acknowledgement rule cannot differ between the two.
"""

from __future__ import annotations

from fastapi import APIRouter

from aigov_intake.api import typed_releases, typed_signals, typed_systems, typed_waivers

router = APIRouter(prefix="/v1")
for _module in (typed_systems, typed_releases, typed_waivers, typed_signals):
    router.include_router(_module.router)
