"""An approval's `evidence_event_ids` name events intake accepted for the same AI system.

The ids link an approval to the records the approver relied on (the decision log follows
them), so a typo or an invented id would be a broken link in the audit trail: it is refused
(422) naming the ids intake never accepted. Events of the same request count, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.catalog import ApprovalDenied, ApprovalGranted
from aigov_events.message import DomainEvent
from aigov_intake.models import AcceptedEvent
from aigov_runtime.database import table_of

_ACCEPTED: Final = table_of(AcceptedEvent)


class UnknownEvidence(Exception):
    """An approval names evidence event ids intake never accepted for its AI system (422)."""


def _named(events: Sequence[DomainEvent[Any]]) -> set[tuple[str, str]]:
    return {
        (event.payload.system_id, event_id)
        for event in events
        if isinstance(event.payload, ApprovalGranted | ApprovalDenied)
        for event_id in event.payload.evidence_event_ids
    }


async def check_evidence_references(
    session: AsyncSession, events: Sequence[DomainEvent[Any]]
) -> None:
    """Raise UnknownEvidence unless every approval's `evidence_event_ids` were accepted."""
    named = _named(events)
    if not named:
        return
    rows = await session.execute(
        # By system first: (source, event_id) is the key, system_id the indexed column.
        select(_ACCEPTED.c.system_id, _ACCEPTED.c.event_id)
        .where(
            _ACCEPTED.c.system_id.in_({system_id for system_id, _ in named}),
            _ACCEPTED.c.event_id.in_({event_id for _, event_id in named}),
        )
        .distinct()
    )
    known: set[tuple[str, str]] = {(system_id, event_id) for system_id, event_id in rows}
    for index, event in enumerate(events):
        payload = event.payload
        if isinstance(payload, ApprovalGranted | ApprovalDenied):
            unknown = [i for i in payload.evidence_event_ids if (payload.system_id, i) not in known]
            if unknown:
                which = (
                    f"{event.type}, item {index} of the batch," if len(events) > 1 else event.type
                )
                names = ", ".join(repr(i) for i in dict.fromkeys(unknown))
                raise UnknownEvidence(
                    f"{which} names evidence_event_ids intake never accepted for AI system "
                    f"{payload.system_id!r}: {names}; list the CloudEvents ids of events sent "
                    "through intake for this system"
                )
        known.add((payload.system_id, event.id))
