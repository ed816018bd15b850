"""Alembic environment of evidence: its tables, in its own schema (see aigov_runtime.migrations)."""

from sqlmodel import SQLModel

import aigov_evidence.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from aigov_runtime.migrations import run_env

run_env(SQLModel.metadata)
