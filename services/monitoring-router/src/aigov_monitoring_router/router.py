"""The router's run-time context: the loaded configuration, compiled tree, clock and wake-up.

Handlers, the scheduler and the API share one `Router`. A configuration reload swaps the
compiled state atomically; timers and groups already in the database keep working.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Final

import httpx

from aigov_events import actors
from aigov_monitoring_router.clock import Clock, SystemClock
from aigov_monitoring_router.inbox import DEFAULT_KEEP
from aigov_monitoring_router.inhibition import InhibitRule
from aigov_monitoring_router.receiver_health import ReceiverHealth
from aigov_monitoring_router.routes import Route, compile_tree
from aigov_monitoring_router.routing_config import ConfigPolicy, RoutingConfig, load_config

SOURCE = "aigov-monitoring-router"
"""CloudEvents `source` of what the router publishes."""
ACTOR = actors.MONITORING_ROUTER
"""`actor` of what the router publishes (it acts on its own, not on a client's behalf); the
evidence service counts monitoring probe results only from this actor."""
DEFAULT_MAX_SILENCE: Final = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class CompiledConfig:
    """A validated configuration and what is derived from it."""

    config: RoutingConfig
    tree: Route
    inhibit_rules: tuple[InhibitRule, ...]

    @classmethod
    def build(cls, config: RoutingConfig) -> CompiledConfig:
        """Compile the tree and the inhibition rules."""
        return cls(
            config=config,
            tree=compile_tree(config.route),
            inhibit_rules=tuple(InhibitRule.from_config(r) for r in config.inhibit_rules),
        )


@dataclass
class Router:
    """Shared state of one router process."""

    compiled: CompiledConfig
    clock: Clock = field(default_factory=SystemClock)
    config_path: Path | None = None
    policy: ConfigPolicy = field(default_factory=ConfigPolicy)
    """Checks the routing file and silence matchers must pass (regex cap, prod secrets)."""
    max_silence: timedelta = DEFAULT_MAX_SILENCE
    """Latest a silence may end, counted from when it is created."""
    inbox_max: int = DEFAULT_KEEP
    """Messages each inbox receiver keeps (`AIGOV_ROUTER_INBOX_MAX`)."""
    health: ReceiverHealth = field(default_factory=ReceiverHealth)
    """Each receiver's health as this process saw it (logs and metrics of transitions)."""
    instance: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    http: httpx.AsyncClient | None = None
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def load(
        cls,
        path: Path | None,
        *,
        clock: Clock | None = None,
        policy: ConfigPolicy | None = None,
        max_silence: timedelta = DEFAULT_MAX_SILENCE,
        inbox_max: int = DEFAULT_KEEP,
    ) -> Router:
        """Load and compile the configuration at `path` (the shipped default when None)."""
        policy = policy or ConfigPolicy()
        return cls(
            compiled=CompiledConfig.build(load_config(path, policy=policy)),
            clock=clock or SystemClock(),
            config_path=path,
            policy=policy,
            max_silence=max_silence,
            inbox_max=inbox_max,
        )

    @property
    def config(self) -> RoutingConfig:
        """The configuration in force."""
        return self.compiled.config

    def reload(self) -> CompiledConfig:
        """Re-read the configuration file; on error the old one stays in force (ConfigError)."""
        self.compiled = CompiledConfig.build(load_config(self.config_path, policy=self.policy))
        return self.compiled

    def wake(self) -> None:
        """Tell the scheduler there may be work due now (e.g. after a handler committed)."""
        self._wakeup.set()

    async def wait_for_work(self, max_wait: float) -> None:
        """Sleep until woken or `max_wait` seconds passed."""
        try:
            await asyncio.wait_for(self._wakeup.wait(), max_wait)
        except TimeoutError:
            pass
        self._wakeup.clear()

    def client(self) -> httpx.AsyncClient:
        """The shared HTTP client of the receivers."""
        if self.http is None:
            raise RuntimeError("the router's HTTP client is not open")
        return self.http
