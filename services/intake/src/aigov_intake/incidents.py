"""Reading intake's incidents: one by id, or a filtered list, within the reader's scope.

Both kinds are here: reported through intake (`opened_by = report`) and opened from an
alert by the monitoring router (`opened_by = alert`, recorded by `consumers`). A scoped
principal sees the incidents of its teams' systems and of the systems its token names,
the same scope `duties` applies to what it may send (a system's team is intake's record
of its latest manifest).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final, Literal

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_intake.models import IncidentRecord, SystemRecord
from aigov_runtime.auth import Principal
from aigov_runtime.database import table_of

STATUSES: Final = ("reported", "acknowledged", "contained", "resolved")
OpenedBy = Literal["report", "alert"]
"""`report`: reported through intake; `alert`: opened from an alert by the monitoring router."""

_INCIDENTS: Final = table_of(IncidentRecord)
_SYSTEMS: Final = table_of(SystemRecord)


@dataclass(frozen=True)
class IncidentFilter:
    """What `GET /v1/incidents` asks for; empty `statuses` means every status."""

    system_id: str | None = None
    statuses: Collection[str] = ()
    opened_by: str | None = None
    limit: int = 100


def _in_scope(principal: Principal) -> ColumnElement[bool] | None:
    """The SQL condition of `Principal.may_act_for` on incidents joined with systems."""
    if not principal.scoped:
        return None
    conditions: list[ColumnElement[bool]] = []
    if principal.systems:
        conditions.append(_INCIDENTS.c.system_id.in_(sorted(principal.systems)))
    if principal.teams:
        conditions.append(_SYSTEMS.c.team.in_(sorted(principal.teams)))
    return or_(*conditions) if conditions else false()


def _select(principal: Principal) -> Any:
    query = select(IncidentRecord).select_from(
        _INCIDENTS.outerjoin(_SYSTEMS, _SYSTEMS.c.system_id == _INCIDENTS.c.system_id)
    )
    scope = _in_scope(principal)
    return query if scope is None else query.where(scope)


async def list_incidents(
    sessionmaker: async_sessionmaker[AsyncSession], principal: Principal, wanted: IncidentFilter
) -> list[IncidentRecord]:
    """The incidents `principal` may see that match `wanted`, newest report first."""
    query = _select(principal)
    if wanted.system_id is not None:
        query = query.where(_INCIDENTS.c.system_id == wanted.system_id)
    if wanted.statuses:
        query = query.where(_INCIDENTS.c.status.in_(sorted(set(wanted.statuses))))
    if wanted.opened_by is not None:
        query = query.where(_INCIDENTS.c.opened_by == wanted.opened_by)
    # Rows from before migration 0003 have no report time: they sort last.
    query = query.order_by(
        _INCIDENTS.c.reported_at.desc().nulls_last(), _INCIDENTS.c.incident_id.desc()
    ).limit(wanted.limit)
    async with sessionmaker() as session:
        return list((await session.execute(query)).scalars())


async def get_incident(
    sessionmaker: async_sessionmaker[AsyncSession], principal: Principal, incident_id: str
) -> IncidentRecord | None:
    """The incident with this id, if intake knows it and `principal` may see it."""
    query = _select(principal).where(_INCIDENTS.c.incident_id == incident_id)
    async with sessionmaker() as session:
        found: IncidentRecord | None = (await session.execute(query)).scalars().first()
        return found
