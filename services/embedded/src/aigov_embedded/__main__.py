"""`python -m aigov_embedded`: serve all four services on one port until SIGTERM/SIGINT."""

from __future__ import annotations

from aigov_embedded.app import create_app
from aigov_embedded.settings import Settings
from aigov_runtime.server import serve


def main() -> None:
    """Run the all-in-one server with settings from the environment."""
    serve(create_app, Settings())


if __name__ == "__main__":
    main()
