"""Fixtures shared by every test suite: the real Kafka broker and PostgreSQL server."""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# deploy/local is not an installed distribution; importing it as the namespace package
# `deploy.local` from the repo root is also how mypy (explicit_package_bases) names it.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from deploy.local import stack  # noqa: E402

KAFKA_BOOTSTRAP_ENV = "AIGOV_TEST_KAFKA_BOOTSTRAP"
POSTGRES_URL_ENV = "AIGOV_TEST_POSTGRES_URL"


@dataclass(frozen=True)
class LocalStack:
    """Where integration tests find the real Kafka broker and PostgreSQL server."""

    kafka_bootstrap: str
    postgres_url: str  # SQLAlchemy async URL (postgresql+asyncpg://…)


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    """Real Kafka and PostgreSQL for the session; stops at the end only what the session started."""
    kafka_override = os.environ.get(KAFKA_BOOTSTRAP_ENV)
    postgres_override = os.environ.get(POSTGRES_URL_ENV)
    # An override points at servers someone else runs (CI services, a remote box): leave
    # those alone and only start the local server for what is not overridden.
    overrides: dict[stack.Component, str | None] = {
        "kafka": kafka_override,
        "postgres": postgres_override,
    }
    wanted = tuple(name for name, override in overrides.items() if not override)
    session: stack.StartedStack | None = None
    if wanted:
        session = stack.ensure_started(wanted)
        # Runs if the session is interrupted before fixture teardown (Ctrl-C, pytest.exit);
        # release() is idempotent, so the normal teardown below makes this a no-op.
        atexit.register(stack.release, session)
    try:
        yield LocalStack(
            kafka_bootstrap=kafka_override or stack.KAFKA_BOOTSTRAP,
            postgres_url=postgres_override or stack.postgres_url("aigov_test"),
        )
    finally:
        if session is not None:
            # Stops only servers a test session started (never a developer's `make up`), and
            # only once no other live test session in this checkout still uses them.
            stack.release(session)
            atexit.unregister(stack.release)
