"""Dependencies shared by the evidence routes: session, publisher, clock, roles, parameters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aigov_events.catalog.primitives import SYSTEM_ID_PATTERN
from aigov_events.producer import Publisher
from aigov_evidence import service
from aigov_evidence.checkpoints import trusted_keys
from aigov_evidence.settings import Settings
from aigov_evidence.verification import snapshot
from aigov_runtime.auth import Principal, Role, require_roles
from aigov_runtime.database import session_dependency
from aigov_runtime.errors import ProblemError

VERSION_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$"
#: Free text a query compares with a column: anything but NUL, which PostgreSQL text cannot
#: hold (it would fail the query, a 500, rather than match nothing).
NO_NUL_PATTERN: Final = r"^[^\x00]*$"


def _sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.state.sessionmaker
    return maker


Session = Annotated[AsyncSession, Depends(session_dependency(_sessionmaker), scope="function")]
"""A session for the request (the evidence API only reads)."""


async def _snapshot(request: Request) -> AsyncIterator[AsyncSession]:
    async with snapshot(_sessionmaker(request)) as session:
        yield session


SnapshotSession = Annotated[AsyncSession, Depends(_snapshot, scope="function")]
"""A read-only session whose reads all see one consistent state (for ledger verification)."""


def trusted(request: Request) -> dict[str, Ed25519PublicKey]:
    """The checkpoint keys pinned in the service's configuration."""
    settings: Settings = request.app.state.settings
    return trusted_keys(settings)


Trusted = Annotated[dict[str, Ed25519PublicKey], Depends(trusted)]


def publisher(request: Request) -> Publisher:
    """The service's publisher (lifespan state)."""
    pub: Publisher = request.state.publisher
    return pub


def clock() -> datetime:
    """Now, in UTC (a dependency, so tests can move the clock past a waiver's expiry)."""
    return datetime.now(UTC)


Now = Annotated[datetime, Depends(clock)]
Reader = Annotated[Principal, Depends(require_roles(Role.READER))]
"""A principal allowed to read evidence (reader, or admin)."""
GateCaller = Annotated[Principal, Depends(require_roles(Role.READER, Role.PUBLISHER))]
"""A principal allowed to read the gate: CI holds a publisher token, dashboards a reader one."""
SystemPath = Annotated[
    str,
    Path(pattern=SYSTEM_ID_PATTERN, description="AI system id.", examples=["support-summarizer"]),
]
SystemQuery = Annotated[
    str,
    Query(pattern=SYSTEM_ID_PATTERN, description="AI system id.", examples=["support-summarizer"]),
]
VersionPath = Annotated[
    str, Path(pattern=VERSION_PATTERN, description="Release version.", examples=["2026.11.3"])
]
VersionQuery = Annotated[
    str, Query(pattern=VERSION_PATTERN, description="Release version.", examples=["2026.11.3"])
]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size.")]
Cursor = Annotated[
    str | None,
    Query(max_length=2000, description="The `next` value of the previous page."),
]


def cursor_key(kind: str, cursor: str | None) -> list[object] | None:
    """The key a listing's cursor continues after (422 for a cursor this API did not issue)."""
    if cursor is None:
        return None
    try:
        return service.decode_cursor(kind, cursor)
    except service.InvalidCursor as exc:
        raise ProblemError(422, f"cursor: {exc}") from None
