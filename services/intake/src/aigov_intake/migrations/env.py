"""Alembic environment of intake: its tables, in its own schema (see aigov_runtime.migrations)."""

from aigov_intake.models import metadata
from aigov_runtime.migrations import run_env

run_env(metadata)
