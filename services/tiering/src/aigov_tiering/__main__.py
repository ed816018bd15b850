"""`python -m aigov_tiering`: serve the tiering service until SIGTERM/SIGINT."""

from __future__ import annotations

from aigov_runtime.server import serve
from aigov_tiering.app import create_app
from aigov_tiering.settings import Settings


def main() -> None:
    """Run the tiering service with settings from the environment."""
    serve(create_app, Settings())


if __name__ == "__main__":
    main()
