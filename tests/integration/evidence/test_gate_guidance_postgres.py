"""The gate's next steps on the real Kafka broker and PostgreSQL: pending waiver requests come
and go, steps name the CLI commands, and a monitoring control names the receiver to fix."""

from __future__ import annotations

import pytest

from tests.unit.evidence import guidance_scenarios as scenario
from tests.unit.evidence.harness import Harness

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]


async def test_decided_waiver_requests_are_no_longer_pending(evidence: Harness) -> None:
    await scenario.decided_waiver_requests_are_no_longer_pending(evidence)


async def test_a_material_change_step_names_the_release(evidence: Harness) -> None:
    await scenario.a_material_change_step_names_the_release(evidence)


async def test_a_failing_probe_says_which_receiver_to_fix(evidence: Harness) -> None:
    await scenario.a_failing_probe_says_which_receiver_to_fix(evidence)


async def test_a_receiver_that_delivered_since_is_not_named(evidence: Harness) -> None:
    await scenario.a_receiver_that_delivered_since_is_not_named(evidence)


async def test_a_probe_by_anyone_but_the_router_is_not_a_probe_run(evidence: Harness) -> None:
    await scenario.a_probe_by_anyone_but_the_router_is_not_a_probe_run(evidence)
