"""`python -m aigov_monitoring_router`: serve the monitoring-router service until SIGTERM/SIGINT."""

from __future__ import annotations

from aigov_monitoring_router.app import create_app
from aigov_monitoring_router.settings import Settings
from aigov_runtime.server import serve


def main() -> None:
    """Run the monitoring-router service with settings from the environment."""
    serve(create_app, Settings())


if __name__ == "__main__":
    main()
