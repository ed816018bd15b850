"""Alembic environment of the monitoring router: its tables, in its own schema."""

from aigov_monitoring_router.models import metadata
from aigov_runtime.migrations import run_env

run_env(metadata)
