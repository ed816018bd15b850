"""HTTP calls to the aigov services, with retries that cannot double-publish and readable errors.

Every POST carries an `Idempotency-Key` (intake makes it the event id), so retrying after a
lost answer, a 429 or a 503 publishes the event once. Problem answers (RFC 9457) become
a `CliError` naming the status, the server's `detail` and every invalid field.
"""

from __future__ import annotations

import json as jsonlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final

import httpx

from aigov_cli.config import Config, Service
from aigov_cli.errors import CliError

MAX_ATTEMPTS: Final = 4
MAX_RETRY_WAIT_S: Final = 10.0
RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})
JSON: Final = "application/json"
YAML: Final = "application/yaml"
#: A query: one value per name, or several for a repeatable parameter (`?status=a&status=b`).
Params = Mapping[str, str | Sequence[str]]
#: 403 details that are about the caller's role (runtime's `require_roles`, intake's type
#: check); any other 403 is separation of duties, an approval capacity or a token's scope.
_ROLE_REFUSALS: Final = ("lacks a required role", "(needs one of:")


def _user_agent() -> str:
    try:
        return f"aigov-cli/{version('aigov-cli')}"
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "aigov-cli"


@dataclass(frozen=True)
class Answer:
    """A successful (2xx) or expected-status answer: status and parsed JSON body."""

    status: int
    body: Any


class Api:
    """A client for the services named in `Config`, authenticated with its token."""

    def __init__(self, config: Config, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._config = config
        self._sleep = sleep
        self._client = httpx.Client(
            timeout=config.timeout,
            headers={"User-Agent": _user_agent(), "Accept": JSON},
            follow_redirects=False,
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def post(
        self,
        service: Service,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        content_type: str = JSON,
        idempotency_key: str | None = None,
    ) -> Answer:
        """POST a JSON value (or raw `content`) and return the 2xx answer, or raise CliError."""
        headers = {"Content-Type": content_type}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        if content is None:
            content = jsonlib.dumps(json, ensure_ascii=False).encode("utf-8")
        return self._send(service, "POST", path, headers=headers, content=content)

    def get(
        self,
        service: Service,
        path: str,
        *,
        params: Params | None = None,
        expect: frozenset[int] = frozenset(),
    ) -> Answer:
        """GET and return the 2xx answer (or one whose status is in `expect`), or raise CliError."""
        return self._send(service, "GET", path, params=params, expect=expect)

    def _send(
        self,
        service: Service,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        params: Params | None = None,
        expect: frozenset[int] = frozenset(),
    ) -> Answer:
        url = f"{self._config.url(service)}{path}"
        auth = {"Authorization": f"Bearer {self._config.token()}"}
        for attempt in range(1, MAX_ATTEMPTS + 1):
            last = attempt == MAX_ATTEMPTS
            try:
                response = self._client.request(
                    method, url, headers={**auth, **(headers or {})}, content=content, params=params
                )
            except httpx.TransportError as exc:
                if last or not _retryable_transport_error(exc):
                    raise CliError(self._unreachable(service, url, exc)) from None
                self._sleep(_backoff(attempt))
                continue
            if response.status_code in RETRY_STATUSES and not last:
                self._sleep(_retry_after(response, attempt))
                continue
            if response.is_success or response.status_code in expect:
                return Answer(response.status_code, _json_or_none(response))
            raise CliError(self._refusal(service, method, url, response))
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _unreachable(self, service: Service, url: str, exc: httpx.TransportError) -> str:
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            reason = (
                f"no answer within {self._config.timeout:g}s (set AIGOV_TIMEOUT to wait longer)"
            )
        return (
            f"cannot reach {service} at {url}: {reason}\n"
            f"  Is the server running and is the URL right? ({self._config.url_hint(service)})"
        )

    def _refusal(self, service: Service, method: str, url: str, response: httpx.Response) -> str:
        status = response.status_code
        body = _json_or_none(response)
        problem = body if isinstance(body, dict) else {}
        detail = problem.get("detail") or problem.get("title") or response.reason_phrase
        if not isinstance(detail, str):
            detail = str(detail)
        lines = [f"{service} refused {method} {url}: {status} {detail}"]
        for error in problem.get("errors") or []:
            if isinstance(error, dict):
                lines.append(f"  - {field_path(error.get('loc'))}: {error.get('msg', error)}")
        hint = _hint(status, service, self._config, detail=detail)
        if hint:
            lines.append(f"  {hint}")
        return "\n".join(lines)


def field_path(loc: Any) -> str:
    """A problem's `loc` (`["body", "metrics", 0, "value"]`) as `metrics[0].value`."""
    if not isinstance(loc, list):
        return str(loc)
    parts = loc[1:] if loc and loc[0] == "body" else loc
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(the whole body)"


def _hint(status: int, service: Service, config: Config, *, detail: str) -> str | None:
    if status == 401:
        return f"Check the token ({config.settings['token'].origin}): the server does not know it."
    if status == 403:
        return _forbidden_hint(detail)
    if status == 404 and detail in ("Not Found", ""):
        # No route answered (a generic 404), not the service saying the thing does not exist.
        return f"Not found at this URL: is it {service}'s? ({config.url_hint(service)})"
    if status in (405, 415):
        return f"Is this {service}? ({config.url_hint(service)})"
    return None


def _forbidden_hint(detail: str) -> str:
    """What to do about a 403, from the refusal's own words (printed above the hint)."""
    if any(words in detail for words in _ROLE_REFUSALS):
        return "The token is valid but lacks the role this needs (see docs/cli.md, Roles)."
    if "may approve as:" in detail:
        return "Pass --role as one of the capacities named above (the token's configuration)."
    if "may act only for its scope" in detail:
        return "The token is scoped to other teams or systems: use one whose scope covers this."
    return (
        "Separation of duties: another principal must do this, as the reason above says "
        "(see docs/cli.md, Roles)."
    )


def _retryable_transport_error(exc: httpx.TransportError) -> bool:
    # Connection refused/reset and timeouts are transient; a malformed URL or TLS error is not.
    return isinstance(exc, httpx.ConnectError | httpx.TimeoutException | httpx.RemoteProtocolError)


def _backoff(attempt: int) -> float:
    return float(min(MAX_RETRY_WAIT_S, 0.5 * 2 ** (attempt - 1)))


def _retry_after(response: httpx.Response, attempt: int) -> float:
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return _backoff(attempt)
    return max(0.0, min(MAX_RETRY_WAIT_S, seconds))


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
