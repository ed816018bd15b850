"""Alembic environment of tiering: its tables, in its own schema (see aigov_runtime.migrations)."""

from aigov_runtime.migrations import run_env
from aigov_tiering.models import metadata

run_env(metadata)
