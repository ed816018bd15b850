"""What every integration shares: the result of one attempt, HTTP classification, templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import httpx

from aigov_monitoring_router.messages import Message

USER_AGENT: Final = "aigov-monitoring-router/1"
_MAX_ERROR_CHARS: Final = 500


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """The outcome of one delivery attempt."""

    ok: bool
    retryable: bool = False
    status_code: int | None = None
    error: str | None = None


def http_result(response: httpx.Response, *, target: str) -> AttemptResult:
    """Classify an HTTP answer: 2xx ok; 5xx and 429 retryable; other 4xx permanent."""
    code = response.status_code
    if 200 <= code < 300:
        return AttemptResult(ok=True, status_code=code)
    body = response.text[:_MAX_ERROR_CHARS].strip()
    error = f"HTTP {code} from {target}" + (f": {body}" if body else "")
    return AttemptResult(
        ok=False, retryable=code >= 500 or code == 429, status_code=code, error=error
    )


def transport_failure(exc: Exception, *, target: str) -> AttemptResult:
    """A timeout or connection error: always worth retrying."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    return AttemptResult(
        ok=False, retryable=True, error=f"request to {target} {kind}: {exc!r}"[:_MAX_ERROR_CHARS]
    )


async def post(
    http: httpx.AsyncClient,
    url: str,
    *,
    within_seconds: float,
    json_body: object | None = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> AttemptResult:
    """POST once and classify the outcome (errors name the host only: paths may hold tokens)."""
    target = host_of(url)
    try:
        response = await http.post(
            url,
            json=json_body,
            content=content,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            timeout=within_seconds,
        )
    except httpx.HTTPError as exc:
        return transport_failure(exc, target=target)
    return http_result(response, target=target)


def host_of(url: str) -> str:
    """The host of `url`, for error messages that must not leak paths with tokens in them."""
    try:
        return httpx.URL(url).host or "receiver"
    except httpx.InvalidURL:
        return "receiver"


def render_template(template: str, message: Message) -> str:
    """Fill `{owner}`, `{team}`, `{oncall}`, `{system}`, `{tier}` from the message's recipient."""
    values = message.recipient.placeholders()
    out = template
    for key, value in values.items():
        out = out.replace("{" + key + "}", value)
    return out
