"""Evidence queries: what the API and the gate read (no FastAPI here, only the session).

Control status is computed from the ledger on read: the latest `tier.assigned` (kept in the
inventory row), the release's evidence records in ledger order, its submitters, its waivers and
the clock.
"""

from __future__ import annotations

import base64
import json
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Final, Generic, TypeVar

from sqlalchemy import Select, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.actors import MONITORING_ROUTER
from aigov_events.catalog import (
    CATALOG,
    DECISION_TYPES,
    EventPayload,
    MonitoringProbeCompleted,
    NotificationFailed,
    NotificationSent,
    TierAssigned,
    validate_payload,
)
from aigov_evidence.controls import (
    Evidence,
    ReleaseEvidence,
    ReleaseStatus,
    Waiver,
    evidence_types,
    pending_waivers,
    release_status,
)
from aigov_evidence.models import (
    INCIDENTS,
    LEDGER,
    RELEASES,
    SYSTEMS,
    WAIVERS,
    ReleaseView,
    SystemView,
    WaiverView,
)

MAX_PAGE: Final = 500
K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class InvalidCursor(ValueError):
    """A pagination cursor this service did not issue (or for another listing)."""


def encode_cursor(kind: str, key: Sequence[Any]) -> str:
    """An opaque cursor continuing a listing after `key`."""
    raw = json.dumps([kind, *key], separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


#: What each listing's cursor holds (a datetime as ISO 8601 text). A client can build a
#: cursor, so its key is checked against this before it reaches a query: PostgreSQL refuses
#: NUL in text and a text column compared with a number, which would be 500s.
CURSOR_KEYS: Final[dict[str, tuple[type, ...]]] = {
    "systems": (str,),
    "evidence": (int,),
    "waivers": (datetime, str),
}
_BIGINT: Final = range(-(2**63), 2**63)


def _key_part_fits(value: Any, expected: type) -> bool:
    if expected is int:
        return type(value) is int and value in _BIGINT
    if not isinstance(value, str) or "\x00" in value:
        return False
    if expected is datetime:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return False
    return True


def decode_cursor(kind: str, cursor: str) -> list[Any]:
    """The key a cursor of listing `kind` continues after."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
    except (ValueError, json.JSONDecodeError, RecursionError):
        raise InvalidCursor("cursor is not one this API issued") from None
    if not isinstance(decoded, list) or not decoded or decoded[0] != kind:
        raise InvalidCursor("cursor belongs to another listing")
    key, shape = decoded[1:], CURSOR_KEYS.get(kind, ())
    if len(key) != len(shape) or not all(map(_key_part_fits, key, shape)):
        raise InvalidCursor("cursor is not one this API issued (its key does not fit the listing)")
    return key


@dataclass(frozen=True, slots=True)
class SystemRow:
    """An inventory row plus what is computed on read."""

    system: SystemView
    latest_version: str | None
    open_incidents: int


def _latest_version() -> Any:
    return (
        select(RELEASES.c.version)
        .where(RELEASES.c.system_id == SYSTEMS.c.system_id)
        .order_by(RELEASES.c.first_seen_at.desc(), RELEASES.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )


def _open_incidents() -> Any:
    return (
        select(func.count())
        .select_from(INCIDENTS)
        .where(INCIDENTS.c.system_id == SYSTEMS.c.system_id, INCIDENTS.c.status != "resolved")
        .scalar_subquery()
    )


def _system_query() -> Select[Any]:
    return select(SystemView, _latest_version(), _open_incidents())


async def list_systems(
    session: AsyncSession,
    *,
    tier: str | None,
    team: str | None,
    status: str | None,
    gate: str | None,
    limit: int,
    after: str | None,
) -> tuple[list[SystemRow], str | None]:
    """A page of the inventory ordered by system id, filtered; and the id to continue after."""
    query = _system_query()
    filters = [
        (SYSTEMS.c.tier, tier),
        (SYSTEMS.c.team, team),
        (SYSTEMS.c.lifecycle_status, status),
        (SYSTEMS.c.last_gate_decision, gate),
    ]
    for column, value in filters:
        if value is not None:
            query = query.where(column == value)
    if after is not None:
        query = query.where(SYSTEMS.c.system_id > after)
    rows = (await session.execute(query.order_by(SYSTEMS.c.system_id).limit(limit + 1))).all()
    items = [SystemRow(row[0], row[1], int(row[2] or 0)) for row in rows[:limit]]
    more = len(rows) > limit
    return items, (items[-1].system.system_id if more and items else None)


async def get_system(session: AsyncSession, system_id: str) -> SystemRow | None:
    """One inventory row, or None if the system never appeared in the ledger's projections."""
    row = (await session.execute(_system_query().where(SYSTEMS.c.system_id == system_id))).first()
    return SystemRow(row[0], row[1], int(row[2] or 0)) if row is not None else None


async def get_release(session: AsyncSession, system_id: str, version: str) -> ReleaseView | None:
    """The release row of (system, version), if any event named it."""
    return await session.get(ReleaseView, (system_id, version))


async def list_evidence(
    session: AsyncSession,
    system_id: str,
    *,
    types: Sequence[str],
    version: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    after: int | None,
) -> tuple[list[Any], int | None]:
    """A page of a system's ledger records in chain order, filtered; and the sequence to continue after."""
    query = select(LEDGER).where(LEDGER.c.system_id == system_id)
    if types:
        query = query.where(LEDGER.c.event_type.in_(list(types)))
    if version is not None:
        query = query.where(LEDGER.c.version == version)
    if since is not None:
        query = query.where(LEDGER.c.time >= since)
    if until is not None:
        query = query.where(LEDGER.c.time < until)
    if after is not None:
        query = query.where(LEDGER.c.sequence > after)
    rows = (await session.execute(query.order_by(LEDGER.c.sequence).limit(limit + 1))).all()
    items = list(rows[:limit])
    return items, (items[-1].sequence if len(rows) > limit and items else None)


async def list_waivers(
    session: AsyncSession,
    *,
    system_id: str | None,
    status: str | None,
    expiring_within: timedelta | None,
    now: datetime,
    limit: int,
    after: tuple[str, str] | None,
) -> tuple[list[WaiverView], tuple[str, str] | None]:
    """A page of waivers by expiry; `expiring_within` keeps granted ones expiring that soon."""
    query = select(WaiverView)
    if system_id is not None:
        query = query.where(WAIVERS.c.system_id == system_id)
    if status is not None:
        query = query.where(WAIVERS.c.status == status)
    if expiring_within is not None:
        query = query.where(
            WAIVERS.c.status == "granted",
            WAIVERS.c.expires_at > now,
            WAIVERS.c.expires_at <= now + expiring_within,
        )
    if after is not None:
        expires, waiver_id = datetime.fromisoformat(after[0]), after[1]
        query = query.where(
            or_(
                WAIVERS.c.expires_at > expires,
                and_(WAIVERS.c.expires_at == expires, WAIVERS.c.waiver_id > waiver_id),
            )
        )
    query = query.order_by(WAIVERS.c.expires_at, WAIVERS.c.waiver_id).limit(limit + 1)
    rows = list((await session.scalars(query)).all())
    items = rows[:limit]
    more = len(rows) > limit and items
    return items, ((items[-1].expires_at.isoformat(), items[-1].waiver_id) if more else None)


class _Memo(Generic[K, T]):
    """A bounded least-recently-used map for values that never change once recorded."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, T] = OrderedDict()

    def get(self, key: K, make: Callable[[], T]) -> T:
        """The value for `key`, made (and remembered) if absent."""
        try:
            self._items.move_to_end(key)
            return self._items[key]
        except KeyError:
            value = self._items[key] = make()
            if len(self._items) > self._size:
                self._items.popitem(last=False)
            return value


# Ledger records never change, so a record's validated payload can be reused: the gate then
# validates only what it has not seen (pydantic is its largest cost otherwise). The key is the
# row itself, not the event id: an event is (source, id), so two sources' events may share an
# id. The row id is unique in one database; its event hash keeps another database's row of
# the same number (a process serving several, as tests do) from answering.
_PAYLOADS: Final[_Memo[tuple[int, str], EventPayload]] = _Memo(100_000)


def recorded_payload(row: Any) -> EventPayload:
    """The validated payload of a ledger row (with `id`, `event_hash`, `event_type`, `payload`)."""
    return _PAYLOADS.get(
        (row.id, row.event_hash), partial(validate_payload, row.event_type, row.payload)
    )


# Keyed by the tier event's id: only tiering publishes `tier.assigned` (intake refuses it from
# clients), with a UUIDv5 of system, manifest revision and policy digest, so one id is one
# decision. Whoever can write that topic directly sets tiers anyway.
_DECISIONS: Final[_Memo[str, TierAssigned]] = _Memo(20_000)

_CONTEXT: Final = (
    select(
        SYSTEMS.c.lifecycle_status,
        SYSTEMS.c.tier,
        SYSTEMS.c.tier_event_id,
        SYSTEMS.c.tier_decision,
        RELEASES.c.submitter,
    )
    .select_from(
        SYSTEMS.outerjoin(
            RELEASES,
            and_(
                RELEASES.c.system_id == SYSTEMS.c.system_id,
                RELEASES.c.version == bindparam("version"),
            ),
        )
    )
    .where(SYSTEMS.c.system_id == bindparam("system_id"))
)
_RECORDS: Final = select(
    LEDGER.c.id,
    LEDGER.c.event_hash,
    LEDGER.c.event_id,
    LEDGER.c.sequence,
    LEDGER.c.event_type,
    LEDGER.c.version,
    LEDGER.c.time,
    LEDGER.c.actor,
    LEDGER.c.payload,
).where(
    LEDGER.c.system_id == bindparam("system_id"),
    LEDGER.c.event_type.in_(bindparam("types", expanding=True)),
    or_(LEDGER.c.version.is_(None), LEDGER.c.version == bindparam("version")),
)
#: Types that can be about a release (they name one, see `ledger.release_version`) and submit
#: it rather than decide on it. Listed, not negated, so the (system, type) index skips the
#: system's probes and alerts, which name no release.
SUBMITTING_TYPES: Final = tuple(
    sorted(
        event_type
        for event_type, model in CATALOG.items()
        if event_type not in DECISION_TYPES
        and {"version", "from_version"} & set(model.model_fields)
    )
)
#: Everyone who sent an event about the release that does not decide on it, first one first.
_SUBMITTERS: Final = (
    select(LEDGER.c.actor)
    .where(
        LEDGER.c.system_id == bindparam("system_id"),
        LEDGER.c.event_type.in_(SUBMITTING_TYPES),
        LEDGER.c.version == bindparam("version"),
    )
    .group_by(LEDGER.c.actor)
    .order_by(func.min(LEDGER.c.sequence))
)
_WAIVERS: Final = select(
    WAIVERS.c.waiver_id,
    WAIVERS.c.version,
    WAIVERS.c.controls,
    WAIVERS.c.status,
    WAIVERS.c.expires_at,
    WAIVERS.c.requested_by,
    WAIVERS.c.decided_by,
    WAIVERS.c.requested_at,
).where(WAIVERS.c.system_id == bindparam("system_id"), WAIVERS.c.version == bindparam("version"))


async def _release_records(
    session: AsyncSession, system_id: str, version: str, types: Sequence[str]
) -> list[Evidence]:
    rows = await session.execute(
        _RECORDS, {"system_id": system_id, "version": version, "types": list(types)}
    )
    return [
        Evidence(
            event_id=row.event_id,
            sequence=row.sequence,
            version=row.version,
            time=row.time,
            actor=row.actor,
            payload=recorded_payload(row),
        )
        for row in rows
    ]


async def release_submitters(session: AsyncSession, system_id: str, version: str) -> list[str]:
    """Every principal that submitted (not decided on) anything for the release, in ledger order."""
    rows = await session.scalars(_SUBMITTERS, {"system_id": system_id, "version": version})
    return list(rows.all())


async def _release_waivers(session: AsyncSession, system_id: str, version: str) -> list[Waiver]:
    rows = await session.execute(_WAIVERS, {"system_id": system_id, "version": version})
    return [
        Waiver(
            waiver_id=row.waiver_id,
            version=row.version,
            controls=list(row.controls),
            status=row.status,
            expires_at=row.expires_at,
            requested_by=row.requested_by,
            decided_by=row.decided_by,
            requested_at=row.requested_at,
        )
        for row in rows
    ]


async def release_pending_waivers(
    session: AsyncSession, system_id: str, version: str, *, now: datetime
) -> list[Waiver]:
    """The release's waiver requests no approver has decided yet (and that have not expired)."""
    return pending_waivers(await _release_waivers(session, system_id, version), now=now)


@dataclass(frozen=True, slots=True)
class Assessment:
    """A release measured against its system's latest tier decision."""

    known: bool
    """Whether the inventory has the system at all (registered, tiered or retired)."""
    lifecycle_status: str | None
    tier_event_id: str | None
    decision: TierAssigned | None
    submitter: str | None
    """The release's first submitter."""
    status: ReleaseStatus | None
    submitters: tuple[str, ...] = ()
    """Every principal that submitted evidence for the release (none of them may approve it)."""
    waivers: tuple[Waiver, ...] = ()
    """The release's waivers, whatever their status."""


async def assess_release(
    session: AsyncSession, system_id: str, version: str, *, now: datetime
) -> Assessment:
    """Control status of (system, version) at `now`; parts are None when there is nothing to assess."""
    context = (
        await session.execute(_CONTEXT, {"system_id": system_id, "version": version})
    ).first()
    if context is None:
        return Assessment(False, None, None, None, None, None)
    if context.tier_decision is None or context.tier_event_id is None:
        return Assessment(True, context.lifecycle_status, None, None, context.submitter, None)
    decision = _DECISIONS.get(
        context.tier_event_id, partial(TierAssigned.model_validate, context.tier_decision)
    )
    evidence = ReleaseEvidence(
        version=version,
        submitter=context.submitter,
        submitters=await release_submitters(session, system_id, version),
        records=await _release_records(session, system_id, version, evidence_types(decision)),
    )
    waivers = await _release_waivers(session, system_id, version)
    return Assessment(
        True,
        context.lifecycle_status,
        context.tier_event_id,
        decision,
        context.submitter,
        release_status(decision, evidence, waivers, now=now),
        evidence.submitters,
        tuple(waivers),
    )


async def expired_waivers(session: AsyncSession, *, now: datetime, limit: int) -> list[WaiverView]:
    """Granted waivers whose expiry has passed (the sweep announces them)."""
    rows = await session.scalars(
        select(WaiverView)
        .where(WAIVERS.c.status == "granted", WAIVERS.c.expires_at <= now)
        .order_by(WAIVERS.c.expires_at)
        .limit(limit)
    )
    return list(rows.all())


@dataclass(frozen=True, slots=True)
class FailedNotification:
    """A notification the monitoring router could not deliver (from `notification.failed`)."""

    receiver: str
    channel: str
    route: str
    error: str
    attempts: int


@dataclass(frozen=True, slots=True)
class MonitoringTrouble:
    """What the ledger says about a system's alert routes, for a gate that finds them unproven."""

    probed: bool
    """Whether the monitoring router ever recorded a probe result for the system."""
    failures: tuple[FailedNotification, ...]
    """Receivers whose latest notification of the system failed, newest first."""


_NOTIFICATION_TYPES: Final = (NotificationFailed.event_type, NotificationSent.event_type)
_NOTIFICATION_WINDOW: Final = 50
"""How many of the system's latest notification records are read to find failing receivers."""


async def monitoring_trouble(
    session: AsyncSession, system_id: str, *, limit: int = 3
) -> MonitoringTrouble:
    """Whether the system was ever probed, and which receivers failed it last (and why).

    A receiver counts as failing only if its latest notification in the window failed: one
    delivered after a failure means the receiver works again, and naming it would send the
    reader to fix what is not broken.
    """
    probed = (
        await session.execute(
            select(LEDGER.c.id)
            .where(
                LEDGER.c.system_id == system_id,
                LEDGER.c.event_type == MonitoringProbeCompleted.event_type,
                LEDGER.c.actor == MONITORING_ROUTER,
            )
            .limit(1)
        )
    ).first() is not None
    rows = await session.execute(
        select(LEDGER.c.event_type, LEDGER.c.payload)
        .where(
            LEDGER.c.system_id == system_id,
            LEDGER.c.event_type.in_(_NOTIFICATION_TYPES),
            # Only the router's own records say what it delivered.
            LEDGER.c.actor == MONITORING_ROUTER,
        )
        .order_by(LEDGER.c.sequence.desc())
        .limit(_NOTIFICATION_WINDOW)
    )
    seen: set[str] = set()
    failures: list[FailedNotification] = []
    for row in rows:
        receiver = str(row.payload.get("receiver", "?"))
        if receiver in seen:
            continue
        seen.add(receiver)
        if row.event_type == NotificationFailed.event_type and len(failures) < limit:
            failures.append(
                FailedNotification(
                    receiver=receiver,
                    channel=str(row.payload.get("channel", "?")),
                    route=str(row.payload.get("route", "?")),
                    error=str(row.payload.get("error", "?")),
                    attempts=int(row.payload.get("attempt", 1)),
                )
            )
    return MonitoringTrouble(probed=probed, failures=tuple(failures))
