"""`/v1/inbox`: what the built-in inbox receivers got (the shipped routing file's only receivers)."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query

from aigov_monitoring_router import inbox
from aigov_monitoring_router.api.deps import Reader, Session
from aigov_monitoring_router.outbound import NotificationKind
from aigov_monitoring_router.schemas import InboxEntry, InboxOut
from aigov_runtime.errors import problem_responses
from aigov_runtime.tags import Tag

router = APIRouter(prefix="/inbox", tags=[Tag.ROUTING])

MAX_LIMIT: Final = 500


@router.get(
    "",
    response_model=InboxOut,
    summary="Notifications delivered to the local inbox",
    responses=problem_responses(401, 403, 422),
)
async def list_inbox(
    _: Reader,
    session: Session,
    system: Annotated[str | None, Query(max_length=63, description="AI system id.")] = None,
    receiver: Annotated[str | None, Query(max_length=100, description="Inbox receiver.")] = None,
    kind: Annotated[
        NotificationKind | None, Query(description="What the notification is about.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> InboxOut:
    """Newest first; each inbox keeps its newest `AIGOV_ROUTER_INBOX_MAX` messages."""
    found = await inbox.messages(
        session, system_id=system, receiver=receiver, kind=kind, limit=limit
    )
    return InboxOut(messages=[InboxEntry.model_validate(m) for m in found])
