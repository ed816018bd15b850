"""Settings of the evidence service (`AIGOV_*` environment variables)."""

from __future__ import annotations

from aigov_runtime.settings import Port, ServiceSettings


class Settings(ServiceSettings):
    """Settings of evidence: the shared ones, listening on port 8083 by default."""

    http_port: Port = 8083
