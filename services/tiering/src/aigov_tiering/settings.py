"""Settings of the tiering service (`AIGOV_*` environment variables).

`AIGOV_POLICY_DIR` names the policy pack directory. Unset, the service uses the default
pack shipped with aigov (`policies/default` in the repository; a copy inside the wheel
when installed from one).
"""

from __future__ import annotations

from pathlib import Path

from aigov_runtime.settings import Port, ServiceSettings
from aigov_tiering.policy.location import default_policy_dir


class Settings(ServiceSettings):
    """Settings of tiering: the shared ones (port 8082) plus the policy pack to enforce."""

    http_port: Port = 8082
    policy_dir: Path | None = None

    def policy_directory(self) -> Path:
        """The policy pack directory: AIGOV_POLICY_DIR, else the default pack."""
        return self.policy_dir if self.policy_dir is not None else default_policy_dir()
