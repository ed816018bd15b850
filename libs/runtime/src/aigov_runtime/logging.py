"""Structured JSON logs on stdout: one object per line, trace-correlated and redacted.

Each line carries `ts` (RFC 3339, UTC), `level`, `logger`, `service`, `message`, `trace_id` and
`span_id` of the current OpenTelemetry span (when one is recording), `exception` text, and every
field passed with `extra={...}`. Secrets are masked before formatting (see `RedactionFilter`).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TextIO

from opentelemetry import trace

from aigov_runtime.redaction import redact_text, redact_value

__all__ = ["JsonFormatter", "RedactionFilter", "configure_logging"]

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRS: Final = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName"}
)
_UVICORN_LOGGERS: Final = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
_HANDLER_MARK: Final = "_aigov_json_handler"
# uvicorn attaches an ANSI-coloured copy of some messages; it has no place in JSON.
_DROPPED_EXTRAS: Final = frozenset({"color_message"})


class RedactionFilter(logging.Filter):
    """Masks secrets in the message, its arguments and `extra` fields of every record.

    The message is rendered here (and `args` cleared) so that a token passed as a `%s` argument
    is masked too; fields whose *name* marks them as secret lose their value entirely.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact `record` in place; never drops a record."""
        if record.name == "uvicorn.access":
            _add_access_fields(record)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A broken format string must not lose the log line; show it raw instead.
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = redact_text(message)
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _RECORD_ATTRS:
                setattr(record, key, redact_value(value, key=key))
        return True


def _add_access_fields(record: logging.LogRecord) -> None:
    # uvicorn's access logger formats `%s - "%s %s HTTP/%s" %d` from a 5-tuple; keep the parts
    # as fields so log queries need not parse the message.
    args = record.args
    if isinstance(args, tuple) and len(args) == 5:
        client, method, path, http_version, status = args
        record.__dict__.update(
            {
                "http.client": str(client),
                "http.method": str(method),
                "http.target": str(path),
                "http.version": str(http_version),
                "http.status_code": status,
            }
        )


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object on one line."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        """Render `record` as a single-line JSON object."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "service": self.service,
            "message": record.getMessage(),
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace_id"] = format(span_context.trace_id, "032x")
            entry["span_id"] = format(span_context.span_id, "016x")
        if record.exc_info:
            # Exception texts quote arguments and locals' reprs: mask them like messages.
            entry["exception"] = redact_text(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact_text(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact_text(self.formatStack(record.stack_info))
        for key, value in vars(record).items():
            if (
                key not in _RECORD_ATTRS
                and key not in entry
                and key not in _DROPPED_EXTRAS
                and not key.startswith("_")
            ):
                entry[key] = value
        return json.dumps(entry, default=str, ensure_ascii=False, separators=(",", ":"))


class _StdoutHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stdout` is at emit time (test runners swap it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


class _ConsoleErrorFormatter(logging.Formatter):
    """One readable line per error on the console, pointing at the full log."""

    def __init__(self, log_file: Path) -> None:
        super().__init__()
        self._log_file = log_file

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(
            f"{record.levelname.lower()}: {record.getMessage()} (details: {self._log_file})"
        )


def configure_logging(
    level: str | int,
    service: str,
    *,
    stream: TextIO | None = None,
    log_file: Path | None = None,
) -> None:
    """Send all logs (uvicorn's included) as redacted JSON lines; safe to call again.

    To stdout by default (or `stream`); to `log_file` when given, and then errors are also
    said on stderr in one readable line each, so a start that fails is not silent.
    """
    root = logging.getLogger()
    for existing in list(root.handlers):
        # Replace only our own handlers: others (e.g. pytest's capture) stay attached.
        if getattr(existing, _HANDLER_MARK, False):
            root.removeHandler(existing)
            existing.close()
    handlers: list[logging.Handler] = []
    main: logging.Handler
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        main = logging.FileHandler(log_file, encoding="utf-8")
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(logging.ERROR)
        console.setFormatter(_ConsoleErrorFormatter(log_file))
        handlers.append(console)
    else:
        main = _StdoutHandler() if stream is None else logging.StreamHandler(stream)
    main.setFormatter(JsonFormatter(service))
    handlers.append(main)
    for handler in handlers:
        setattr(handler, _HANDLER_MARK, True)
        handler.addFilter(RedactionFilter())
        root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name in _UVICORN_LOGGERS:
        # uvicorn may have attached its own handlers; route everything through the root one.
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)
