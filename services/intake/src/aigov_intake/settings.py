"""Settings of the intake service (`AIGOV_*` environment variables)."""

from __future__ import annotations

from aigov_runtime.settings import Port, ServiceSettings


class Settings(ServiceSettings):
    """Settings of intake: the shared ones, listening on port 8081 by default."""

    http_port: Port = 8081
