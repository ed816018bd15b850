"""Settings of the monitoring-router service (`AIGOV_*` environment variables)."""

from __future__ import annotations

from aigov_runtime.settings import Port, ServiceSettings


class Settings(ServiceSettings):
    """Settings of monitoring-router: the shared ones, listening on port 8084 by default."""

    http_port: Port = 8084
