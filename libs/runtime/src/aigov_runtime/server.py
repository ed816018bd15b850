"""`serve`: run a service app under uvicorn until SIGTERM/SIGINT, then shut down gracefully.

On a signal uvicorn stops accepting connections, lets in-flight requests finish for up to
`AIGOV_SHUTDOWN_TIMEOUT_SECONDS` (then cancels them), runs the lifespan shutdown (closing
database pools, flushing producers) and returns; the process then exits with status 0.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TypeVar

import uvicorn
from starlette.types import ASGIApp

from aigov_runtime.settings import ServiceSettings

__all__ = ["STARTUP_FAILURE_EXIT_CODE", "serve"]

logger = logging.getLogger(__name__)

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)

STARTUP_FAILURE_EXIT_CODE = 3
"""Exit status when the app's lifespan startup fails (uvicorn's convention)."""

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_ECHO_WINDOW_S = 1.0
"""A second SIGINT this soon after the first is the same Ctrl-C delivered twice."""


class _Server(uvicorn.Server):
    """uvicorn's server, minus the force-quit a Ctrl-C delivered twice would trigger.

    A terminal's Ctrl-C goes to the whole foreground process group, and wrappers such as
    `uv run` forward it to their child as well, so the server sees SIGINT twice within
    milliseconds. uvicorn takes a second SIGINT for "force quit" and skips the graceful
    shutdown (consumers' last commit, the bus flush); here one that arrives within
    `_ECHO_WINDOW_S` of the first is dropped. A deliberate second Ctrl-C still forces.
    """

    _first_stop_at: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        if (
            sig == signal.SIGINT
            and self._first_stop_at is not None
            and now - self._first_stop_at < _ECHO_WINDOW_S
        ):
            return
        if self._first_stop_at is None:
            self._first_stop_at = now
        super().handle_exit(sig, frame)


@contextmanager
def _signals_end_the_process_cleanly() -> Iterator[list[int]]:
    """Absorb the stop signal uvicorn re-raises after its graceful shutdown.

    uvicorn restores the previous handlers and raises the signal again once it has shut down;
    with the default handlers that turns a clean shutdown into "killed by SIGTERM" (status 143)
    or a KeyboardInterrupt traceback. Here the previous handler only records it.
    """
    received: list[int] = []

    def record(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, record) for sig in _STOP_SIGNALS}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve(app_factory: Callable[[SettingsT], ASGIApp], settings: SettingsT) -> None:
    """Build the app with `app_factory(settings)` and serve it on `http_host:http_port`."""
    app = app_factory(settings)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        # Our JSON logging is already configured; uvicorn must not install its own.
        log_config=None,
        log_level=None,
        access_log=True,
        # "on", not "auto": a failing startup (e.g. bad database URL) must stop the process.
        lifespan="on",
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        server_header=False,
        # Behind an ingress, client addresses come from X-Forwarded-For (trusted per
        # FORWARDED_ALLOW_IPS, default 127.0.0.1).
        proxy_headers=True,
    )
    server = _Server(config)
    with _signals_end_the_process_cleanly() as received:
        server.run()
    if not server.started:
        # uvicorn returns without starting when e.g. the port is taken.
        logger.error("server did not start")
        raise SystemExit(STARTUP_FAILURE_EXIT_CODE)
    if server.force_exit:
        said = "forced to stop on a second SIGINT: the graceful shutdown was cut short"
        logger.warning(said)
    elif received:
        said = "stopped on " + ", ".join(
            sorted({signal.Signals(signum).name for signum in received})
        )
        logger.info(said)
    else:
        return
    if settings.log_file is not None:
        # The log goes to a file: the person at the terminal is told too (not a log line).
        sys.stderr.write(f"{said}\n")
