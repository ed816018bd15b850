"""The demo's HTTP client: which service answers where, each role's token, calls that say what
failed, polling for what consumers record asynchronously, and the example request files.

Shared by the demo's scenes (`demo.py`, `demo_monitoring.py`), which know what to send; this
module knows only how.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

import httpx

from aigov_intake.api.typed_examples import ExamplesMissing, examples_dir

T = TypeVar("T")

DEV_TOKENS: Final = {
    role: f"dev-{role}-token-please-change"
    for role in ("publisher", "owner", "approver", "reader", "admin")
}


class DemoError(RuntimeError):
    """The demo could not be loaded (the message says what failed)."""


def utc_now() -> datetime:
    """The current time in UTC (the demo's default clock)."""
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """`moment` as the RFC 3339 text the API takes (`...Z`)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def example_file(examples: Path | None, *parts: str) -> Path:
    """A file under `examples` (None: the repository's `examples/`, DemoError when missing)."""
    if examples is not None:
        return examples.joinpath(*parts)
    try:
        return examples_dir().joinpath(*parts)
    except ExamplesMissing as exc:
        raise DemoError(str(exc)) from exc


@dataclass
class Endpoints:
    """Where each service answers: one URL for the all-in-one server, four with `make up`."""

    intake: str
    tiering: str
    evidence: str
    router: str

    @classmethod
    def single(cls, url: str) -> Endpoints:
        """Every service behind one base URL."""
        return cls(url, url, url, url)


@dataclass
class DemoClient:
    """Calls the services as the demo's roles through `client` (whose base URL is ignored:
    endpoints are absolute), and remembers the ids of the events it emitted."""

    client: httpx.AsyncClient
    endpoints: Endpoints
    tokens: Mapping[str, str] = field(default_factory=lambda: dict(DEV_TOKENS))
    say: Any = None
    emitted: list[str] = field(default_factory=list)
    clock: Callable[[], datetime] = utc_now
    #: Where the example files are; None: the repository's `examples/`.
    examples: Path | None = None

    def _say(self, message: str) -> None:
        if self.say is not None:
            self.say(message)

    async def send(
        self,
        method: str,
        service: str,
        path: str,
        role: str,
        *,
        expect: Iterable[int] = (200, 202),
        **kw: Any,
    ) -> Any:
        """Call a service path as `role`; DemoError unless the status is one of `expect`."""
        return await self._call(
            method, getattr(self.endpoints, service) + path, role, expect=expect, **kw
        )

    async def until(
        self, what: str, found: Callable[[], Awaitable[T | None]], *, within: float = 60.0
    ) -> T:
        """Poll `found` until it returns something (consumers run asynchronously)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            result = await found()
            if result is not None:
                return result
            if asyncio.get_running_loop().time() > deadline:
                raise DemoError(f"{what}: not there within {within:g} s")
            await asyncio.sleep(0.2)

    def example_request(self, file: str) -> dict[str, Any]:
        """One of the example request bodies (`examples/requests/<file>`)."""
        body: dict[str, Any] = json.loads(
            example_file(self.examples, "requests", file).read_text("utf-8")
        )
        return body

    async def _call(
        self, method: str, url: str, role: str, *, expect: Iterable[int] = (200, 202), **kw: Any
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}", **kw.pop("headers", {})}
        response = await self.client.request(method, url, headers=headers, **kw)
        if response.status_code not in set(expect):
            raise DemoError(
                f"{method} {url} answered {response.status_code}: {response.text[:500]}"
            )
        body = response.json() if response.content else None
        if method == "POST":
            self._remember(body)
        return body

    def _remember(self, body: Any) -> None:
        if isinstance(body, dict):
            if isinstance(body.get("event_id"), str):
                self.emitted.append(body["event_id"])
            for key in ("accepted", "event_ids"):
                if isinstance(body.get(key), list):
                    self.emitted.extend(str(i) for i in body[key])

    async def post(self, service: str, path: str, role: str, body: Any) -> Any:
        """POST JSON to a service path as `role`."""
        return await self._call(
            "POST",
            getattr(self.endpoints, service) + path,
            role,
            json=body,
            headers={
                "Idempotency-Key": f"demo-{uuid.uuid5(uuid.NAMESPACE_URL, path + json.dumps(body, sort_keys=True))}"
            },
        )

    async def get(
        self, service: str, path: str, *, expect: Iterable[int] = (200,), **kw: Any
    ) -> Any:
        """GET a service path as a reader."""
        return await self._call(
            "GET", getattr(self.endpoints, service) + path, "reader", expect=expect, **kw
        )
