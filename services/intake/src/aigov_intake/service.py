"""Accepting events: authorise, de-duplicate, publish atomically, then remember what was accepted.

Every endpoint ends here, so the rules hold whichever way an event arrives:
1. the principal may send each event's type (`policy`), and `actor` is the principal;
2. no event is dated more than the configured skew ahead of intake's clock (422);
3. scopes and separation of duties (`duties`): a scoped principal acts only for its teams'
   systems, approves only in its configured capacities and in one of them per release, and
   nobody who submitted evidence for a release approves it or decides its waivers; an
   approval's `evidence_event_ids` name events intake accepted (`references`, 422);
4. an event whose (source, id) the same principal already sent is reported as a duplicate,
   not re-sent; one another principal sent is refused (409): a (source, id) belongs to its
   first sender, so nobody can suppress another's event by sending its id first;
5. the rest is published as one atomic batch, and only after the broker acknowledged it
6. is it recorded (dedup keys, submitters, approvals, waivers, incidents, manifest revisions).

A crash between 4 and 5 can let a retry publish an event twice; consumers are idempotent
by event id, so that costs a redundant record, never a double effect. Two principals racing
with one new (source, id) can both pass 4; the first write wins the ledger row.
"""

from __future__ import annotations

import functools
import logging
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from prometheus_client import Counter
from sqlalchemy import DateTime, Insert, String, TextClause, bindparam, select, text, tuple_
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel

from aigov_events.batching import MicroBatcher
from aigov_events.bus import BusError, RecordTooLarge
from aigov_events.catalog import (
    ApprovalGranted,
    EventPayload,
    IncidentAcknowledged,
    IncidentContained,
    IncidentReported,
    IncidentResolved,
    SystemRegistered,
    SystemRetired,
    SystemUpdated,
    WaiverExpired,
    WaiverGranted,
    WaiverRejected,
    WaiverRequested,
)
from aigov_events.message import ACTOR, DomainEvent
from aigov_events.producer import Publisher
from aigov_intake.duties import approval_subject, check_duties, submits
from aigov_intake.models import (
    AcceptedEvent,
    IncidentRecord,
    ReleaseApproval,
    ReleaseRecord,
    ReleaseSubmitter,
    SystemRecord,
    WaiverRecord,
)
from aigov_intake.policy import check_may_send
from aigov_intake.references import check_evidence_references
from aigov_runtime.auth import Principal
from aigov_runtime.database import (
    dialect_name,
    excluded,
    insert_ignore,
    insert_rows,
    table_of,
    upsert,
)

log = logging.getLogger(__name__)

ACCEPTED = Counter(
    "aigov_intake_events_accepted_total",
    "Events intake published, by type and by the endpoint kind they came through.",
    ["type", "via"],
)
REJECTED = Counter(
    "aigov_intake_events_rejected_total",
    "Events intake refused, by the endpoint kind and the reason.",
    ["via", "reason"],
)
DUPLICATES = Counter(
    "aigov_intake_events_duplicate_total",
    "Events whose (source, id) was already accepted: answered 202, not published again.",
    ["via"],
)


class BrokerUnavailable(Exception):
    """The bus did not acknowledge the events; nothing was published (503)."""


class EventTooLarge(Exception):
    """An event does not fit in one bus record, however valid it is (413)."""


class TooFarAhead(Exception):
    """An event's `time` is further ahead of intake's clock than the configured skew (422)."""


class UsedByAnother(Exception):
    """An event's (source, id) was already accepted from another principal (409)."""


def check_admissible(
    events: Sequence[DomainEvent[Any]], *, principal: Principal, max_future_skew: timedelta
) -> None:
    """Raise unless `principal` may send these types and none is dated too far ahead."""
    for event in events:
        check_may_send(principal, type(event.payload))
    check_not_ahead(events, now=datetime.now(UTC), max_future_skew=max_future_skew)


def check_not_ahead(
    events: Sequence[DomainEvent[Any]], *, now: datetime, max_future_skew: timedelta
) -> None:
    """Raise TooFarAhead naming the first event dated later than `now + max_future_skew`."""
    latest = now + max_future_skew
    for index, event in enumerate(events):
        if event.time > latest:
            raise TooFarAhead(
                f"{_which(event, index, len(events))} is dated {event.time.isoformat()}, {_duration(event.time - now)} "
                f"ahead of intake's clock ({now.isoformat(timespec='seconds')}); at most "
                f"{_duration(max_future_skew)} ahead is accepted "
                "(AIGOV_INTAKE_MAX_FUTURE_SKEW_SECONDS): check the sender's clock"
            )


def _which(event: DomainEvent[Any], index: int, count: int) -> str:
    """How a refusal names an event: its id and type, and its place when in a batch."""
    which = f"event {event.id!r} ({event.type})"
    return f"{which}, item {index} of the batch," if count > 1 else which


def _duration(delta: timedelta) -> str:
    """`36524 days 0:00:00` style, without microseconds."""
    seconds = round(delta.total_seconds())
    if seconds < 86_400:
        return f"{seconds} s"
    return str(timedelta(seconds=seconds))


EventKey = tuple[str, str]
"""An event's identity: (CloudEvents source, id)."""


@dataclass(frozen=True)
class Acceptance:
    """What happened to the events of one request, each as its (source, id)."""

    accepted_events: list[EventKey] = field(default_factory=list)
    duplicate_events: list[EventKey] = field(default_factory=list)

    @property
    def accepted(self) -> list[str]:
        """Ids of the events published by this request."""
        return [event_id for _, event_id in self.accepted_events]

    @property
    def duplicates(self) -> list[str]:
        """Ids of the events this principal had sent before (not published again)."""
        return [event_id for _, event_id in self.duplicate_events]

    def answer(self) -> dict[str, Any]:
        """The fields every batch answer shares: ids, and the same as (id, source) pairs."""
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "accepted_events": [{"id": i, "source": s} for s, i in self.accepted_events],
            "duplicate_events": [{"id": i, "source": s} for s, i in self.duplicate_events],
        }


def stamp(event: DomainEvent[Any], principal: Principal) -> DomainEvent[Any]:
    """The event with `actor` set to the authenticated principal (whatever the client said)."""
    if event.envelope.actor == principal.name:
        return event
    envelope = event.envelope.with_extensions(**{ACTOR: principal.name})
    return DomainEvent(envelope=envelope, payload=event.payload)


async def accept(
    events: Sequence[DomainEvent[Any]],
    *,
    principal: Principal,
    sessionmaker: async_sessionmaker[AsyncSession],
    publisher: Publisher,
    via: str,
    max_future_skew: timedelta,
    duplicates_before: Sequence[EventKey] = (),
) -> Acceptance:
    """Authorise, de-duplicate, publish (atomically) and record `events` sent by `principal`.

    `duplicates_before` are (source, id) of events the caller already found to change
    nothing (an unchanged manifest); they are reported with the duplicates.
    """
    check_admissible(events, principal=principal, max_future_skew=max_future_skew)
    stamped = [stamp(e, principal) for e in events]
    if principal.scoped or any(type(e.payload).decides for e in stamped):
        async with sessionmaker() as session:
            await check_duties(session, stamped, principal)
            await check_evidence_references(session, stamped)
    ledger = ledger_for(sessionmaker)
    senders = await ledger.seen([(e.envelope.source, e.id) for e in stamped])
    check_not_used_by_another(stamped, senders=senders, principal=principal)
    fresh = [e for e in stamped if (e.envelope.source, e.id) not in senders]
    duplicates = [
        *duplicates_before,
        *((e.envelope.source, e.id) for e in stamped if (e.envelope.source, e.id) in senders),
    ]
    if duplicates:
        DUPLICATES.labels(via).inc(len(duplicates))
    if fresh:
        try:
            await publisher.publish_batch(fresh)
        except RecordTooLarge as exc:
            # The client's event is too big to be one record: its mistake, not the broker's.
            REJECTED.labels(via, "too_large").inc(len(fresh))
            raise EventTooLarge(str(exc)) from exc
        except BusError as exc:
            REJECTED.labels(via, "broker_unavailable").inc(len(fresh))
            log.error("broker did not acknowledge", extra={"events": len(fresh), "error": str(exc)})
            raise BrokerUnavailable(str(exc)) from exc
        await ledger.record(fresh, principal)
        for event in fresh:
            ACCEPTED.labels(event.type, via).inc()
    return Acceptance(
        accepted_events=[(e.envelope.source, e.id) for e in fresh], duplicate_events=duplicates
    )


def check_not_used_by_another(
    events: Sequence[DomainEvent[Any]], *, senders: dict[EventKey, str], principal: Principal
) -> None:
    """Raise UsedByAnother naming the first event whose (source, id) another principal sent.

    Answering "duplicate" would let whoever guesses an upcoming (source, id) suppress the
    real event: its sender would be told it was accepted, and it would never be published.
    """
    for index, event in enumerate(events):
        sender = senders.get((event.envelope.source, event.id))
        if sender is None or sender == principal.name:
            continue
        raise UsedByAnother(
            f"{_which(event, index, len(events))}: the (source, id) ({event.envelope.source!r}, {event.id!r}) was already "
            "used by another principal; choose a unique id (a UUID) for every event you send"
        )


_MAX_KEYS_PER_QUERY = 2000


class AcceptLedger:
    """Intake's memory of what it accepted, read and written in batches shared by requests.

    Each request needs one dedup lookup and one write; done per request they cost more
    than publishing. Concurrent requests' lookups go out as one query and their writes as
    one transaction (group commit), so the database cost per request shrinks under load.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._lookups: MicroBatcher[list[EventKey], dict[EventKey, str]] = MicroBatcher(
            self._lookup_batch, max_weight=_MAX_KEYS_PER_QUERY, weight=len
        )
        self._writes: MicroBatcher[tuple[Sequence[DomainEvent[Any]], Principal], None] = (
            MicroBatcher(
                self._write_batch, max_weight=_MAX_KEYS_PER_QUERY, weight=lambda i: len(i[0])
            )
        )

    async def seen(self, keys: list[EventKey]) -> dict[EventKey, str]:
        """Which of these (source, id) keys were accepted before, each with who sent it."""
        return await self._lookups.submit(keys)

    async def record(self, events: Sequence[DomainEvent[Any]], principal: Principal) -> None:
        """Remember accepted events (dedup keys, submitters, waivers, incidents, revisions)."""
        await self._writes.submit((events, principal))

    async def _lookup_batch(self, requests: list[list[EventKey]]) -> list[dict[EventKey, str]]:
        keys = list({key for request in requests for key in request})
        async with self._sessionmaker() as session:
            if dialect_name(session) == "postgresql":
                rows = await session.execute(
                    _LOOKUP_BY_ARRAYS,
                    {"sources": [s for s, _ in keys], "ids": [i for _, i in keys]},
                )
            else:
                table = table_of(AcceptedEvent)
                rows = await session.execute(
                    select(table.c.source, table.c.event_id, table.c.principal).where(
                        tuple_(table.c.source, table.c.event_id).in_(keys)
                    )
                )
        found = {(source, event_id): principal for source, event_id, principal in rows}
        return [{key: found[key] for key in request if key in found} for request in requests]

    async def _write_batch(
        self, requests: list[tuple[Sequence[DomainEvent[Any]], Principal]]
    ) -> list[None]:
        now = datetime.now(UTC)
        groups: dict[
            tuple[type[SQLModel], tuple[str, ...]], dict[tuple[Any, ...], dict[str, Any]]
        ] = {}

        def add(row: Row, update: tuple[str, ...]) -> None:
            model, values = row
            key = tuple(values[name] for name in _primary_key(model))
            rows = groups.setdefault((model, update), {})
            # One statement may not touch a row twice: keep the first (KEEP) or last (update).
            if update or key not in rows:
                rows[key] = values

        for events, principal in requests:
            for event in events:
                payload: EventPayload = event.payload
                add(
                    _row(
                        AcceptedEvent,
                        source=event.envelope.source,
                        event_id=event.id,
                        event_type=event.type,
                        system_id=payload.system_id,
                        principal=principal.name,
                        accepted_at=now,
                    ),
                    KEEP,
                )
                for row, update in _projection(payload, principal, now):
                    add(row, update)
        async with self._sessionmaker() as session, session.begin():
            dialect = dialect_name(session)
            if dialect == "postgresql":
                accepted = groups.pop((AcceptedEvent, KEEP), {})
                if accepted:
                    await session.execute(_INSERT_ACCEPTED_BY_ARRAYS, _columns(accepted.values()))
            for (model, update), rows in groups.items():
                # One cached statement per shape, whatever the batch size (`insert_rows`).
                await insert_rows(session, _upsert(dialect, model, update), list(rows.values()))
        return [None] * len(requests)


# A row-value IN list of a thousand keys costs PostgreSQL (and SQLAlchemy's compiler) far
# more than the lookup itself; two array parameters keep the statement one prepared
# shape, and the join probes the primary key once per key.
_LOOKUP_BY_ARRAYS: TextClause = text(
    "SELECT a.source, a.event_id, a.principal FROM accepted_events AS a "
    "JOIN unnest(:sources, :ids) AS k(source, event_id) "
    "ON a.source = k.source AND a.event_id = k.event_id"
).bindparams(
    bindparam("sources", type_=postgresql.ARRAY(String)),
    bindparam("ids", type_=postgresql.ARRAY(String)),
)


_ACCEPTED_COLUMNS = ("source", "event_id", "event_type", "system_id", "principal", "accepted_at")
# The bulk of every write: one statement with one array per column instead of a multi-row
# VALUES list SQLAlchemy would render (and PostgreSQL parse) for each batch.
_INSERT_ACCEPTED_BY_ARRAYS: TextClause = text(
    "INSERT INTO accepted_events (source, event_id, event_type, system_id, principal, accepted_at) "
    "SELECT * FROM unnest(:source, :event_id, :event_type, :system_id, :principal, :accepted_at) "
    "ON CONFLICT (source, event_id) DO NOTHING"
).bindparams(
    *(bindparam(name, type_=postgresql.ARRAY(String)) for name in _ACCEPTED_COLUMNS[:-1]),
    bindparam("accepted_at", type_=postgresql.ARRAY(DateTime(timezone=True))),
)


def _columns(rows: Iterable[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows of accepted events as one list per column (for the unnest insert)."""
    rows = list(rows)
    return {name: [row[name] for row in rows] for name in _ACCEPTED_COLUMNS}


_ledgers: weakref.WeakKeyDictionary[async_sessionmaker[AsyncSession], AcceptLedger] = (
    weakref.WeakKeyDictionary()
)


def ledger_for(sessionmaker: async_sessionmaker[AsyncSession]) -> AcceptLedger:
    """The ledger of a database (one per sessionmaker, so per app)."""
    ledger = _ledgers.get(sessionmaker)
    if ledger is None:
        ledger = _ledgers[sessionmaker] = AcceptLedger(sessionmaker)
    return ledger


# What to do when the row exists: keep it, or update these columns.
KEEP: tuple[str, ...] = ()


Row = tuple[type[SQLModel], dict[str, Any]]


def _row(model: type[SQLModel], **values: Any) -> Row:
    """A row as plain values (building SQLModel instances costs more than writing them)."""
    return model, values


@functools.cache
def _primary_key(model: type[SQLModel]) -> tuple[str, ...]:
    return tuple(c.name for c in table_of(model).primary_key.columns)


@functools.cache
def _upsert(dialect: str, model: type[SQLModel], update: tuple[str, ...]) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING, or DO UPDATE of `update`, built once per shape."""
    table = table_of(model)
    if not update:
        return insert_ignore(table, dialect)
    proposed = excluded(table)
    return upsert(
        table, dialect, keys=_primary_key(model), update={name: proposed[name] for name in update}
    )


#: The status each incident event moves an incident to.
INCIDENT_STATUS: Final[Mapping[type[EventPayload], str]] = {
    IncidentReported: "reported",
    IncidentAcknowledged: "acknowledged",
    IncidentContained: "contained",
    IncidentResolved: "resolved",
}


def incident_row(
    payload: IncidentReported, *, reported_by: str, opened_by: str, at: datetime
) -> Row:
    """The row of a newly reported incident (through intake, or opened by the router)."""
    return _row(
        IncidentRecord,
        incident_id=payload.incident_id,
        system_id=payload.system_id,
        reported_by=reported_by,
        status="reported",
        severity=payload.severity.value,
        category=payload.category,
        summary=payload.summary,
        serious=payload.serious,
        opened_by=opened_by,
        version=payload.version,
        reported_at=at,
        updated_at=at,
    )


def _projection(
    payload: EventPayload, principal: Principal, now: datetime
) -> list[tuple[Row, tuple[str, ...]]]:
    """Rows intake remembers about a payload: (row, columns to update if it exists, or KEEP)."""
    rows: list[tuple[Row, tuple[str, ...]]] = []
    if isinstance(payload, SystemRegistered | SystemUpdated):
        rows.append(
            (
                _row(
                    SystemRecord,
                    system_id=payload.system_id,
                    revision=payload.revision,
                    manifest_sha256=payload.manifest_sha256,
                    retired=False,
                    updated_by=principal.name,
                    updated_at=now,
                    team=payload.manifest.metadata.team,
                ),
                ("revision", "manifest_sha256", "retired", "updated_by", "updated_at", "team"),
            )
        )
    elif isinstance(payload, SystemRetired):
        rows.append(
            (
                _row(
                    SystemRecord,
                    system_id=payload.system_id,
                    revision=0,
                    manifest_sha256="",
                    retired=True,
                    updated_by=principal.name,
                    updated_at=now,
                    team=None,
                ),
                ("retired", "updated_by", "updated_at"),
            )
        )
    if isinstance(payload, WaiverRequested):
        rows.append(
            (
                _row(
                    WaiverRecord,
                    waiver_id=payload.waiver_id,
                    system_id=payload.system_id,
                    version=payload.version,
                    requested_by=principal.name,
                    status="requested",
                    decided_by=None,
                ),
                KEEP,
            )
        )
    elif isinstance(payload, WaiverGranted | WaiverRejected | WaiverExpired):
        status = {WaiverGranted: "granted", WaiverRejected: "rejected", WaiverExpired: "expired"}
        rows.append(
            (
                _row(
                    WaiverRecord,
                    waiver_id=payload.waiver_id,
                    system_id=payload.system_id,
                    version=payload.version,
                    requested_by="",
                    status=status[type(payload)],
                    decided_by=principal.name,
                ),
                ("status", "decided_by"),
            )
        )
    if isinstance(payload, ApprovalGranted):
        rows.append(
            (
                _row(
                    ReleaseApproval,
                    system_id=payload.system_id,
                    version=payload.version,
                    subject=approval_subject(payload),
                    principal=principal.name,
                    capacity=payload.role,
                    approved_at=now,
                ),
                KEEP,
            )
        )
    if submits(payload):
        # Everyone who sends evidence for a release is one of its submitters; deciders
        # (the catalog's `decides` types) never are.
        rows.append(
            (
                _row(
                    ReleaseSubmitter,
                    system_id=payload.system_id,
                    version=payload.version,
                    principal=principal.name,
                    first_seen_at=now,
                ),
                KEEP,
            )
        )
        rows.append(
            (
                _row(
                    ReleaseRecord,
                    system_id=payload.system_id,
                    version=payload.version,
                    submitted_by=principal.name,
                    first_seen_at=now,
                ),
                KEEP,
            )
        )
    if isinstance(payload, IncidentReported):
        rows.append(
            (incident_row(payload, reported_by=principal.name, opened_by="report", at=now), KEEP)
        )
    elif isinstance(payload, IncidentAcknowledged | IncidentContained | IncidentResolved):
        rows.append(
            (
                _row(
                    IncidentRecord,
                    incident_id=payload.incident_id,
                    system_id=payload.system_id,
                    reported_by=principal.name,
                    status=INCIDENT_STATUS[type(payload)],
                    updated_at=now,
                ),
                ("status", "updated_at"),
            )
        )
    return rows


# --- lookups for the typed endpoints ---------------------------------------------------------


async def current_system(
    sessionmaker: async_sessionmaker[AsyncSession], system_id: str
) -> SystemRecord | None:
    """The latest manifest revision intake accepted for `system_id`, if any."""
    async with sessionmaker() as session:
        return await session.get(SystemRecord, system_id)


async def find_waiver(
    sessionmaker: async_sessionmaker[AsyncSession], waiver_id: str
) -> WaiverRecord | None:
    """The waiver with this id, if intake accepted its request."""
    async with sessionmaker() as session:
        return await session.get(WaiverRecord, waiver_id)


async def find_incident(
    sessionmaker: async_sessionmaker[AsyncSession], incident_id: str
) -> IncidentRecord | None:
    """The incident with this id: reported through intake or opened by the monitoring router."""
    async with sessionmaker() as session:
        return await session.get(IncidentRecord, incident_id)
