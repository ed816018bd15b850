"""Governance KPIs over the ledger and projections (definitions: docs/kpis.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Final

from fastapi import APIRouter, Query

from aigov_events.catalog import Tier
from aigov_events.catalog.primitives import SYSTEM_ID_PATTERN
from aigov_evidence.api.deps import NO_NUL_PATTERN, Now, Reader, Session
from aigov_evidence.kpis import KpiReport, compute_kpis
from aigov_runtime.errors import ProblemError, problem_responses
from aigov_runtime.tags import Tag

router = APIRouter()

DEFAULT_WINDOW: Final = timedelta(days=30)
MAX_WINDOW: Final = timedelta(days=366)


def window(
    start: datetime | None, end: datetime | None, *, now: datetime
) -> tuple[datetime, datetime]:
    """The report's [start, end): the last 30 days ending now by default (422 when unusable)."""
    for name, value in (("from", start), ("to", end)):
        if value is not None and value.utcoffset() is None:
            raise ProblemError(
                422, f"{name}: give a UTC offset (e.g. 2026-11-01T00:00:00Z), not a local time"
            )
    end = now if end is None else end
    start = end - DEFAULT_WINDOW if start is None else start
    if start >= end:
        raise ProblemError(422, f"from ({start.isoformat()}) must be before to ({end.isoformat()})")
    if end - start > MAX_WINDOW:
        raise ProblemError(
            422, f"the window from {start.isoformat()} to {end.isoformat()} is longer than 366 days"
        )
    return start, end


@router.get(
    "/kpis",
    tags=[Tag.SYSTEMS],
    summary="Governance KPIs over a window",
    response_model=KpiReport,
    responses=problem_responses(401, 403, 422),
)
async def get_kpis(
    _reader: Reader,
    session: Session,
    now: Now,
    start: Annotated[
        datetime | None,
        Query(
            alias="from",
            description="Window start (inclusive, RFC 3339 with offset); default: `to` - 30 days.",
        ),
    ] = None,
    end: Annotated[
        datetime | None,
        Query(
            alias="to",
            description="Window end (exclusive); default: now. At most 366 days after `from`.",
        ),
    ] = None,
    tier: Annotated[
        Tier | None, Query(description="Only systems of this tier (at the window's end).")
    ] = None,
    team: Annotated[
        str | None,
        Query(max_length=200, pattern=NO_NUL_PATTERN, description="Only systems of this team."),
    ] = None,
    system: Annotated[
        str | None, Query(pattern=SYSTEM_ID_PATTERN, description="Only this AI system.")
    ] = None,
) -> KpiReport:
    """Every governance KPI over [from, to), by the ledger's clock (docs/kpis.md defines each).

    Figures about events count what the ledger recorded in the window; figures about state
    (coverage, monitoring) are as of `to`. Per-release evidence quality lists at most 500
    releases (`releases_truncated` says when more were scored).
    """
    start, end = window(start, end, now=now)
    return await compute_kpis(
        session,
        start=start,
        end=end,
        tier=tier.value if tier is not None else None,
        team=team,
        system=system,
        now=now,
    )
