"""Settings of the monitoring-router service (`AIGOV_*` environment variables)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field

from aigov_monitoring_router.inbox import DEFAULT_KEEP
from aigov_monitoring_router.label_regex import DEFAULT_MAX_PATTERN_CHARS
from aigov_monitoring_router.routing_config import ConfigPolicy
from aigov_runtime.settings import Port, ServiceSettings


class Settings(ServiceSettings):
    """Settings of monitoring-router: the shared ones (port 8084) plus routing and scheduling."""

    http_port: Port = 8084
    routing_config: Path | None = None
    """YAML routing configuration; the shipped `config/default-routing.yaml` when unset."""
    router_db_schema: str = Field(default="router", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    """PostgreSQL schema of the router's tables."""
    router_tick_seconds: float = Field(default=1.0, gt=0, le=60)
    """How often the scheduler looks for due timers when nothing wakes it earlier."""
    router_timer_batch: int = Field(default=200, ge=1, le=10_000)
    """Timers claimed per scheduler round."""
    router_timer_lease_seconds: float = Field(default=120.0, gt=0)
    """How long a claimed timer is ours; a crashed replica's timers are retried after it."""
    router_delivery_concurrency: int = Field(default=64, ge=1, le=1000)
    """Deliveries (HTTP/SMTP requests) in flight at once."""
    router_consumers: int = Field(default=1, ge=1, le=64)
    """Consumer-group members in this process (each handles its partitions concurrently)."""
    router_run_scheduler: bool = True
    """Run the timer scheduler and outbox relay in this process (off for API-only replicas)."""
    router_max_regex_chars: int = Field(default=DEFAULT_MAX_PATTERN_CHARS, ge=1, le=100_000)
    """Longest regex a matcher may have (silences, routes, inhibition rules)."""
    router_max_silence_days: int = Field(default=30, ge=1, le=366)
    """A silence must end within this many days of its creation."""
    router_inbox_max: int = Field(default=DEFAULT_KEEP, ge=1, le=1_000_000)
    """Messages each inbox receiver keeps (the oldest are deleted as new ones arrive)."""

    def config_policy(self) -> ConfigPolicy:
        """What the routing file must satisfy here (shipped secrets are refused outside dev)."""
        return ConfigPolicy(
            max_pattern_chars=self.router_max_regex_chars, production=self.env != "dev"
        )

    @property
    def max_silence(self) -> timedelta:
        """The longest a silence may run, from its creation."""
        return timedelta(days=self.router_max_silence_days)
