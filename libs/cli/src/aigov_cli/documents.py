"""Input files (manifests, request bodies, metrics): read as YAML or JSON, errors with line:column."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any, Final

import yaml

from aigov_cli.errors import CliError

JSON_SUFFIXES: Final = frozenset({".json"})
STDIN: Final = "-"


def read_bytes(path: str) -> bytes:
    """The file's bytes (`-` reads standard input), or an error naming the file."""
    if path == STDIN:
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CliError(f"{path}: is a directory, expected a file") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read it ({exc.strerror})") from None


def is_json(path: str) -> bool:
    """Whether `path` is read as JSON (by its suffix); anything else, and stdin, is YAML."""
    return Path(path).suffix.lower() in JSON_SUFFIXES


def parse(path: str, raw: bytes) -> Any:
    """`raw` parsed as JSON or YAML (by `path`'s suffix), errors pointing at line:column."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CliError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if is_json(path):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise CliError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else path
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        raise CliError(f"{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise CliError(f"{path}: invalid YAML: {exc}") from None


def read_mapping(path: str) -> dict[str, Any]:
    """A file holding one JSON/YAML object (a request body), YAML dates turned into ISO text."""
    document = as_json_data(parse(path, read_bytes(path)))
    if not isinstance(document, dict):
        kind = "empty" if document is None else f"a {type(document).__name__}"
        raise CliError(f"{path}: expected an object (key: value pairs), found {kind}")
    return document


def read_document(path: str) -> Any:
    """Any JSON/YAML value from a file, YAML dates as ISO text."""
    return as_json_data(parse(path, read_bytes(path)))


def as_json_data(value: Any) -> Any:
    """`value` with YAML's dates and timestamps as ISO 8601 text, so it can be sent as JSON."""
    if isinstance(value, dict):
        return {key: as_json_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json_data(item) for item in value]
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    return value
