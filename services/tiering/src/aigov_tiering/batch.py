"""What one batch of lifecycle events reads and changes, held in memory between two round trips.

`BatchState.load` reads, in one query per table, everything the batch's events can look at:
their systems, their baselines and the evaluations of the releases they approve. The
handlers then apply the events in order against this state, exactly as if each had read
the database after the previous one committed (a later revision of a system sees the
earlier one's result; an approval sees the evaluation before it). `flush` writes what
changed with one set-based statement per table, and hands back the decision events to
publish, in the order sequential handling would have published them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aigov_events.catalog import ApprovalGranted
from aigov_events.catalog.enums import ApprovalScope
from aigov_events.message import DomainEvent
from aigov_tiering import service
from aigov_tiering.service import BaselineRecord, SystemRecord

EvaluationKey = tuple[str, str, str]
"""(system, release version, suite)."""


@dataclass
class BatchState:
    """The systems, baselines and evaluations one batch works on, and what it changed."""

    systems: dict[str, SystemRecord]
    baselines: dict[str, BaselineRecord]
    evaluations: dict[tuple[str, str], dict[str, Any]]
    """(system, version) -> suite -> metrics: the stored evaluations of the releases the batch
    approves, with those the batch recorded."""
    changed_systems: set[str] = field(default_factory=set)
    changed_baselines: set[str] = field(default_factory=set)
    recorded_evaluations: dict[EvaluationKey, dict[str, Any]] = field(default_factory=dict)
    manifest_changes: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[DomainEvent[Any]] = field(default_factory=list)

    @classmethod
    async def load(cls, session: AsyncSession, events: Sequence[DomainEvent[Any]]) -> BatchState:
        """Read what `events` need (at most three queries)."""
        system_ids = {event.system_id for event in events}
        releases = {
            (event.system_id, event.payload.version)
            for event in events
            if isinstance(event.payload, ApprovalGranted)
            and event.payload.scope is not ApprovalScope.MATERIAL_CHANGE
        }
        evaluations: dict[tuple[str, str], dict[str, Any]] = {release: {} for release in releases}
        stored = await service.load_release_evaluations(session, releases)
        for (system_id, version, suite), metrics in stored.items():
            evaluations[system_id, version][suite] = metrics
        return cls(
            systems=await service.load_systems(session, system_ids),
            baselines=await service.load_baselines(session, system_ids),
            evaluations=evaluations,
        )

    def save_system(self, system: SystemRecord) -> None:
        """Make `system` the system's latest state."""
        self.systems[system.system_id] = system
        self.changed_systems.add(system.system_id)

    def touch_system(self, system_id: str) -> None:
        """Note that a system's record was changed in place."""
        self.changed_systems.add(system_id)

    def save_baseline(self, baseline: BaselineRecord) -> None:
        """Make `baseline` the system's approved baseline."""
        self.baselines[baseline.system_id] = baseline
        self.changed_baselines.add(baseline.system_id)

    def touch_baseline(self, system_id: str) -> None:
        """Note that a baseline was changed in place (its pending change)."""
        self.changed_baselines.add(system_id)

    def record_evaluation(self, key: EvaluationKey, metrics: dict[str, Any]) -> None:
        """Keep the latest metrics of a release's suite."""
        system_id, version, suite = key
        self.evaluations.setdefault((system_id, version), {})[suite] = metrics
        self.recorded_evaluations[key] = metrics

    def release_evaluations(self, system_id: str, version: str) -> dict[str, Any]:
        """Suite -> metrics of every evaluation of a release the batch approves."""
        return dict(self.evaluations[system_id, version])

    def record_manifest_change(self, row: dict[str, Any]) -> None:
        """Keep how a revision differs from the approved manifest."""
        self.manifest_changes.append(row)

    def issue(self, events: Iterable[DomainEvent[Any]]) -> None:
        """Queue decision events to record and publish (in order)."""
        self.decisions.extend(events)

    async def flush(self, session: AsyncSession, *, policy_sha256: str) -> list[DomainEvent[Any]]:
        """Write every change (one statement per table); the decision events to publish."""
        await service.save_systems(session, (self.systems[i] for i in sorted(self.changed_systems)))
        await service.save_baselines(
            session, (self.baselines[i] for i in sorted(self.changed_baselines))
        )
        await service.save_evaluations(session, self.recorded_evaluations)
        await service.save_manifest_changes(session, self.manifest_changes)
        await service.record_decisions(session, self.decisions, policy_sha256=policy_sha256)
        return list(self.decisions)
