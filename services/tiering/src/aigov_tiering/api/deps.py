"""Dependencies of tiering's routes: the active policy pack from the lifespan state."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Depends, Request

from aigov_tiering.policy import PolicyPack

#: Key of the active pack in the lifespan state (TieringState, or the embedded app's state).
POLICY_PACK_STATE: Final = "policy_pack"


def active_pack(request: Request) -> PolicyPack:
    """The policy pack the service enforces (loaded and checked at startup)."""
    pack: PolicyPack = getattr(request.state, POLICY_PACK_STATE)
    return pack


ActivePack = Annotated[PolicyPack, Depends(active_pack)]
