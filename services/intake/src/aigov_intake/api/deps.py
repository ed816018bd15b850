"""Dependencies shared by intake's routes: resources from the lifespan, the rate-limited caller."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.message import DomainEvent
from aigov_events.producer import Publisher
from aigov_intake import manifests, service
from aigov_intake.duties import Forbidden, UnknownApproval
from aigov_intake.policy import NotAcceptedHere, NotAllowed
from aigov_intake.references import UnknownEvidence
from aigov_intake.revisions import RevisionLocks
from aigov_runtime.auth import Principal
from aigov_runtime.errors import ProblemError, problem_responses
from aigov_runtime.ratelimit import LimitedPrincipal

BROKER_RETRY_AFTER_S = "5"
ID_USED_BY_ANOTHER = (
    "an event's (source, id) was already used by another principal (choose a unique id; "
    "the same principal's retry is a 202 duplicate)"
)

Caller = LimitedPrincipal
"""An authenticated principal within its request rate (the runtime's limiter of the app)."""


def accept_problems(*statuses: int, conflict: str | None = None) -> dict[int | str, Any]:
    """Problem `responses=` of a route that publishes through `accept`: `statuses` and a 409.

    Every such route can answer 409 for a (source, id) another principal sent first;
    `conflict` names the route's other 409, if it has one.
    """
    responses = problem_responses(*statuses, 409)
    reasons = [conflict, ID_USED_BY_ANOTHER] if conflict else [ID_USED_BY_ANOTHER]
    responses[409] = {**responses[409], "description": f"Conflict: {'; or '.join(reasons)}."}
    return responses


def sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    """Intake's sessionmaker (lifespan state)."""
    maker: async_sessionmaker[AsyncSession] = request.state.sessionmaker
    return maker


def revision_locks(request: Request) -> RevisionLocks:
    """Intake's per-system manifest revision locks (lifespan state)."""
    locks: RevisionLocks = request.state.revision_locks
    return locks


def publisher(request: Request) -> Publisher:
    """Intake's publisher (lifespan state)."""
    pub: Publisher = request.state.publisher
    return pub


def max_future_skew(request: Request) -> timedelta:
    """How far ahead of intake's clock an event may be dated (lifespan state)."""
    skew: timedelta = request.state.max_future_skew
    return skew


async def accept(
    request: Request,
    events: list[DomainEvent[Any]],
    *,
    principal: Principal,
    via: str,
    manifests_numbered: bool = False,
) -> service.Acceptance:
    """Run the accept pipeline and turn its refusals into problem responses (403/409/413/422/503).

    Manifest revisions among `events` are numbered and hashed by intake (`manifests`) under
    their systems' revision locks, unless the caller already did so holding them
    (`manifests_numbered`, `POST /v1/systems`).
    """
    try:
        system_ids = [] if manifests_numbered else manifests.manifest_system_ids(events)
        if not system_ids:
            return await _accept(request, events, principal=principal, via=via)
        # Roles and the clock first: an unchanged manifest must not answer a caller who
        # may not send it.
        service.check_admissible(
            events, principal=principal, max_future_skew=max_future_skew(request)
        )
        async with revision_locks(request).hold_many(system_ids):
            revised = await manifests.revise(events, sessionmaker=sessionmaker(request))
            return await _accept(
                request,
                revised.events,
                principal=principal,
                via=via,
                duplicates_before=revised.unchanged,
            )
    except manifests.RetiredSystem as exc:
        service.REJECTED.labels(via, "retired").inc(len(events))
        raise ProblemError(409, str(exc)) from None
    except service.UsedByAnother as exc:
        service.REJECTED.labels(via, "id_used_by_another").inc(len(events))
        raise ProblemError(409, str(exc)) from None
    except UnknownApproval as exc:
        service.REJECTED.labels(via, "unknown_approval").inc(len(events))
        raise ProblemError(422, str(exc)) from None
    except UnknownEvidence as exc:
        service.REJECTED.labels(via, "unknown_evidence").inc(len(events))
        raise ProblemError(422, str(exc)) from None
    except (NotAllowed, Forbidden) as exc:
        service.REJECTED.labels(via, "forbidden").inc(len(events))
        raise ProblemError(403, str(exc)) from None
    except NotAcceptedHere as exc:
        service.REJECTED.labels(via, "not_accepted_here").inc(len(events))
        raise ProblemError(422, str(exc)) from None
    except service.TooFarAhead as exc:
        service.REJECTED.labels(via, "future_time").inc(len(events))
        raise ProblemError(422, str(exc)) from None
    except service.EventTooLarge as exc:
        raise ProblemError(413, f"an event is too large to publish: {exc}") from None
    except service.BrokerUnavailable:
        raise ProblemError(
            503,
            "the event broker did not acknowledge; nothing was published, retry later",
            headers={"Retry-After": BROKER_RETRY_AFTER_S},
        ) from None


async def _accept(
    request: Request,
    events: list[DomainEvent[Any]],
    *,
    principal: Principal,
    via: str,
    duplicates_before: list[service.EventKey] | None = None,
) -> service.Acceptance:
    return await service.accept(
        events,
        principal=principal,
        sessionmaker=sessionmaker(request),
        publisher=publisher(request),
        via=via,
        max_future_skew=max_future_skew(request),
        duplicates_before=duplicates_before or (),
    )
