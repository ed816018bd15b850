"""One manifest submission per AI system at a time, so revision numbers never repeat.

Intake numbers a system's revisions from what it recorded (read, publish, record). Two
submissions for one system that overlap would both read revision N and both publish N+1,
so the section is serialised: within a process by an asyncio lock (waiting requests queue
in the event loop, not on database connections), and across intake replicas on PostgreSQL
by a transaction-scoped advisory lock held until the new revision is recorded. SQLite is
the embedded mode, one process, where the asyncio lock is enough.

A batch of events may revise several systems at once (`hold_many`): their locks are taken
in sorted order (so two batches cannot deadlock) and the advisory locks on one connection.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Final
from weakref import WeakValueDictionary

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

#: Namespaces intake's advisory lock keys (other services could take advisory locks too).
_KEY_NAMESPACE: Final = b"aigov.intake.system-revision\n"


def advisory_key(system_id: str) -> int:
    """A stable signed 64-bit key for `system_id` (PostgreSQL advisory locks take a bigint)."""
    digest = hashlib.sha256(_KEY_NAMESPACE + system_id.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class RevisionLocks:
    """The per-system revision locks of one intake app."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._local: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()

    def _local_lock(self, system_id: str) -> asyncio.Lock:
        lock = self._local.get(system_id)
        if lock is None:
            lock = self._local[system_id] = asyncio.Lock()
        return lock

    @asynccontextmanager
    async def hold(self, system_id: str) -> AsyncIterator[None]:
        """Hold `system_id`'s revision lock for the body (read, publish, record)."""
        async with self._local_lock(system_id):
            if self._engine.dialect.name != "postgresql":
                yield
                return
            async with self._engine.connect() as connection, connection.begin():
                await connection.execute(
                    select(func.pg_advisory_xact_lock(advisory_key(system_id)))
                )
                yield

    @asynccontextmanager
    async def hold_many(self, system_ids: Iterable[str]) -> AsyncIterator[None]:
        """Hold the revision locks of all `system_ids` for the body."""
        ordered = sorted(set(system_ids))
        async with AsyncExitStack() as stack:
            for system_id in ordered:
                await stack.enter_async_context(self._local_lock(system_id))
            if ordered and self._engine.dialect.name == "postgresql":
                connection = await stack.enter_async_context(self._engine.connect())
                await stack.enter_async_context(connection.begin())
                for system_id in ordered:
                    await connection.execute(
                        select(func.pg_advisory_xact_lock(advisory_key(system_id)))
                    )
            yield
