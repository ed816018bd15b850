"""Settings of the tiering service (`AIGOV_*` environment variables)."""

from __future__ import annotations

from aigov_runtime.settings import Port, ServiceSettings


class Settings(ServiceSettings):
    """Settings of tiering: the shared ones, listening on port 8082 by default."""

    http_port: Port = 8082
