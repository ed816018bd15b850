"""Settings of the all-in-one server, and the per-service settings derived from them.

One data directory holds everything: the embedded event log and one SQLite file per
service (each service owns its data, as in production). Service-specific variables
(`AIGOV_POLICY_DIR`, webhook secrets, the routing config...) are read by each service's
own settings class from the same environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

from aigov_runtime.settings import Port, ServiceSettings

ServiceSettingsT = TypeVar("ServiceSettingsT", bound=ServiceSettings)


class Settings(ServiceSettings):
    """The all-in-one server: port 8080, embedded bus and SQLite under `data_dir`."""

    http_port: Port = 8080
    bus: Literal["kafka", "embedded"] = "embedded"
    data_dir: Path = Path(".local/embedded")
    # Fill an empty installation with demo systems and evidence at startup.
    demo: bool = False

    def for_service(self, settings_class: type[ServiceSettingsT], name: str) -> ServiceSettingsT:
        """Settings of one service inside this process: same port, bus and tokens, its own DB."""
        shared = self.model_dump(
            exclude={"data_dir", "demo", "database_url", "embedded_bus_path", "http_port"},
            exclude_unset=False,
        )
        return settings_class(
            **shared,
            http_port=self.http_port,
            embedded_bus_path=self.data_dir / "bus.sqlite3",
            database_url=f"sqlite+aiosqlite:///{self.data_dir / f'{name}.sqlite3'}",
        )
