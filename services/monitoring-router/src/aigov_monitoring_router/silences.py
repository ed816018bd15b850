"""Silences: create, list and expire them; every change is published so it is audited."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.catalog import SilenceCreated, SilenceExpired
from aigov_events.catalog.primitives import SYSTEM_ID_PATTERN
from aigov_monitoring_router import alerts as labels_of
from aigov_monitoring_router.alerting import touch_system
from aigov_monitoring_router.matchers import MatchType, parse_matcher
from aigov_monitoring_router.models import SILENCES, Silence
from aigov_monitoring_router.repository import cancel, emit, schedule
from aigov_monitoring_router.router import Router

SILENCE_END: Final = "silence_end"
_SYSTEM_ID: Final = re.compile(SYSTEM_ID_PATTERN)


class SilenceRejected(ValueError):
    """The silence is invalid (bad matcher, window, missing system scope)."""


class SilenceNotFound(LookupError):
    """No silence has that id."""


def system_scope(
    matchers: Sequence[str], *, max_pattern_chars: int | None
) -> tuple[str, list[str]]:
    """Validate the matchers and return the system the silence is scoped to, canonicalised."""
    parsed = []
    for i, text in enumerate(matchers):
        try:
            parsed.append(parse_matcher(text, max_pattern_chars=max_pattern_chars))
        except ValueError as exc:
            raise SilenceRejected(f"matchers[{i}]: {exc}") from None
    systems = [m.value for m in parsed if m.name == labels_of.SYSTEM and m.type is MatchType.EQUAL]
    if len(systems) != 1:
        raise SilenceRejected(
            'a silence must name exactly one system with an equality matcher (system="<id>")'
        )
    if not _SYSTEM_ID.match(systems[0]):
        raise SilenceRejected(
            f"system {systems[0][:80]!r} is not a system id (lower-case letters, digits and "
            "hyphens, at most 63 characters, starting with a letter or digit)"
        )
    return systems[0], [str(m) for m in parsed]


def _days(span: timedelta) -> str:
    days = span / timedelta(days=1)
    return f"{days:g} day{'s' if days != 1 else ''}"


async def create_silence(
    session: AsyncSession,
    router: Router,
    *,
    matchers: Sequence[str],
    starts_at: datetime | None,
    ends_at: datetime,
    created_by: str,
    comment: str,
) -> Silence:
    """Create a silence and publish `silence.created`.

    A start in the past counts from now (as in Alertmanager), so the window is at most
    `router.max_silence` long and lies within it from now.
    """
    now = router.clock.now()
    system_id, canonical = system_scope(matchers, max_pattern_chars=router.policy.max_pattern_chars)
    if ends_at <= now:
        raise SilenceRejected("ends_at is in the past")
    starts = max(starts_at, now) if starts_at is not None else now
    if ends_at <= starts:
        raise SilenceRejected("ends_at must be after starts_at")
    if ends_at - now > router.max_silence:
        raise SilenceRejected(
            f"a silence must end within {_days(router.max_silence)} of now "
            "(AIGOV_ROUTER_MAX_SILENCE_DAYS); create a new one when it ends"
        )
    silence = Silence(
        silence_id=f"s-{uuid.uuid4().hex[:16]}",
        system_id=system_id,
        matchers=canonical,
        starts_at=starts,
        ends_at=ends_at,
        created_by=created_by,
        comment=comment,
        created_at=now,
    )
    session.add(silence)
    await schedule(session, SILENCE_END, silence.silence_id, ends_at)
    await emit(
        session,
        SilenceCreated(
            system_id=system_id,
            silence_id=silence.silence_id,
            matchers=canonical,
            starts_at=starts,
            ends_at=ends_at,
            created_by=created_by,
            comment=comment,
        ),
        at=now,
    )
    return silence


async def expire_silence(
    session: AsyncSession, router: Router, silence_id: str, *, expired_by: str
) -> Silence:
    """End a silence now and publish `silence.expired` (idempotent on expired ones)."""
    silence = await session.get(Silence, silence_id, with_for_update=True)
    if silence is None:
        raise SilenceNotFound(silence_id)
    now = router.clock.now()
    if silence.ends_at <= now:
        return silence
    silence.ends_at = max(now, silence.starts_at)
    silence.expired_by = expired_by
    await cancel(session, SILENCE_END, silence_id)
    await touch_system(session, router, silence.system_id)
    await emit(
        session,
        SilenceExpired(
            system_id=silence.system_id,
            silence_id=silence_id,
            expired_at=now,
            expired_by=expired_by,
        ),
        at=now,
    )
    return silence


async def silence_ended(session: AsyncSession, router: Router, silence_id: str) -> None:
    """A silence's window ended by itself: publish `silence.expired`."""
    await cancel(session, SILENCE_END, silence_id)
    silence = await session.get(Silence, silence_id)
    if silence is None or silence.expired_by is not None:
        return
    await touch_system(session, router, silence.system_id)
    await emit(
        session,
        SilenceExpired(
            system_id=silence.system_id, silence_id=silence_id, expired_at=silence.ends_at
        ),
        at=router.clock.now(),
    )


async def list_silences(
    session: AsyncSession, router: Router, *, system_id: str | None, include_expired: bool
) -> list[Silence]:
    """Silences, newest first; by default only those not yet ended."""
    query = select(Silence).order_by(SILENCES.c.created_at.desc())
    if system_id is not None:
        query = query.where(SILENCES.c.system_id == system_id)
    if not include_expired:
        query = query.where(SILENCES.c.ends_at > router.clock.now())
    return list((await session.execute(query.limit(1000))).scalars().all())
