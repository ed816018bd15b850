"""`python -m aigov_intake`: serve the intake service until SIGTERM/SIGINT."""

from __future__ import annotations

from aigov_intake.app import create_app
from aigov_intake.settings import Settings
from aigov_runtime.server import serve


def main() -> None:
    """Run the intake service with settings from the environment."""
    serve(create_app, Settings())


if __name__ == "__main__":
    main()
