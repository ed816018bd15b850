"""Dependencies of the router's routes: the router, sessions, roles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from aigov_monitoring_router.router import Router
from aigov_runtime.auth import Principal, Role, require_roles
from aigov_runtime.database import session_dependency


def router_of(request: Request) -> Router:
    """The router (lifespan state)."""
    router: Router = request.state.router
    return router


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async for session in session_dependency(lambda r: r.state.sessionmaker)(request):
        yield session


RouterDep = Annotated[Router, Depends(router_of)]
Session = Annotated[AsyncSession, Depends(_session, scope="function")]
"""A session committed before the response is sent."""
Reader = Annotated[Principal, Depends(require_roles(Role.READER, Role.OWNER, Role.APPROVER))]
Owner = Annotated[Principal, Depends(require_roles(Role.OWNER))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
