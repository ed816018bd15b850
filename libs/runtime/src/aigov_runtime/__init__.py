"""Run-time plumbing every aigov service shares.

Settings (`settings`), JSON logs (`logging`), tracing (`telemetry`), bearer auth (`auth`),
problem+json errors (`errors`), body limits (`limits`), the Host check (`hosts`), per-principal
rate limits (`ratelimit`), bounded YAML bodies (`yaml_body`), probes and metrics (`health`,
`metrics`), database helpers (`database`), the app builder (`app`) and the server runner (`server`).
"""

from aigov_runtime.app import build_service_app
from aigov_runtime.auth import (
    CurrentPrincipal,
    Principal,
    Role,
    TokenRegistry,
    authenticated,
    require_roles,
)
from aigov_runtime.errors import ProblemDetail, ProblemError, problem_responses
from aigov_runtime.health import ReadinessCheck, ReadinessChecks
from aigov_runtime.settings import Port, ServiceSettings

__all__ = [
    "CurrentPrincipal",
    "Port",
    "Principal",
    "ProblemDetail",
    "ProblemError",
    "ReadinessCheck",
    "ReadinessChecks",
    "Role",
    "ServiceSettings",
    "TokenRegistry",
    "authenticated",
    "build_service_app",
    "problem_responses",
    "require_roles",
]
