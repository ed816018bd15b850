"""`python -m aigov_evidence`: serve the evidence service until SIGTERM/SIGINT."""

from __future__ import annotations

from aigov_evidence.app import create_app
from aigov_evidence.settings import Settings
from aigov_runtime.server import serve


def main() -> None:
    """Run the evidence service with settings from the environment."""
    serve(create_app, Settings())


if __name__ == "__main__":
    main()
