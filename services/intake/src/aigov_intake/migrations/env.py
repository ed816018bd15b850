"""Alembic environment of intake: its tables, in its own schema (see aigov_runtime.migrations)."""

from sqlmodel import SQLModel

import aigov_intake.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from aigov_runtime.migrations import run_env

run_env(SQLModel.metadata)
