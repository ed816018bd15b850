"""The public input examples (the repository's `examples/`): where they are, and intake's OpenAPI
examples of the typed endpoints, read from them.

`examples/systems/*.yaml` and `examples/requests/*.json` are the contract ("fields may be
added, none renamed"); this module is the one place the code finds them, so the OpenAPI
document, the demo (`aigov_embedded.demo`) and the benchmarks show the same files the tests
check. The services run from the uv workspace's editable install, so the folder is found
from this file's place in the repository. An installation without it (a wheel outside the
repository) documents the endpoints without examples; `examples_dir()` says where it looked.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Final

logger = logging.getLogger(__name__)

# services/intake/src/aigov_intake/api/<this file> -> the repository root.
REPOSITORY_ROOT: Final = Path(__file__).resolve().parents[5]
EXAMPLES_DIR: Final = REPOSITORY_ROOT / "examples"


class ExamplesMissing(FileNotFoundError):
    """The example inputs are not where this installation expects them."""


def examples_dir() -> Path:
    """The examples folder (with `systems/` and `requests/`); `ExamplesMissing` if absent."""
    missing = [name for name in ("systems", "requests") if not (EXAMPLES_DIR / name).is_dir()]
    if missing:
        raise ExamplesMissing(
            f"the example inputs are missing: expected {', '.join(missing)} under {EXAMPLES_DIR} "
            "(they ship with the repository; run from a checkout, installed with `uv sync`)"
        )
    return EXAMPLES_DIR


def request_example(name: str) -> dict[str, Any]:
    """One request body example (`waiver-request.json`), parsed."""
    body: dict[str, Any] = json.loads((examples_dir() / "requests" / name).read_text("utf-8"))
    return body


def system_manifests() -> dict[str, str]:
    """Every example manifest as YAML text, by file name (`support-summarizer.yaml`)."""
    systems = examples_dir() / "systems"
    return {path.name: path.read_text("utf-8") for path in sorted(systems.glob("*.yaml"))}


def _for_openapi() -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Request examples and manifests to show; none when the examples are not installed."""
    try:
        directory = examples_dir()
    except ExamplesMissing as exc:
        logger.warning("intake's OpenAPI document shows no examples: %s", exc)
        return {}, {}
    requests = {path.name: request_example(path.name) for path in directory.glob("requests/*.json")}
    return requests, system_manifests()


_REQUESTS, _MANIFESTS = _for_openapi()

EVALUATION: Final = _REQUESTS.get("evaluation.json", {})
ARTIFACT: Final = _REQUESTS.get("artifact.json", {})
DEPLOYMENT: Final = _REQUESTS.get("deployment.json", {})
APPROVAL: Final = _REQUESTS.get("approval.json", {})
WAIVER_REQUEST: Final = _REQUESTS.get("waiver-request.json", {})
ALERT: Final = _REQUESTS.get("alert.json", {})
INCIDENT: Final = _REQUESTS.get("incident.json", {})

#: Manifests by file name, as YAML text.
SYSTEMS_YAML: Final = _MANIFESTS
