"""The gate's attack scenarios on the real Kafka broker and PostgreSQL: the ledger's own order,
probes only from the router, no submitter approving, one requirement per approver."""

from __future__ import annotations

import pytest

from tests.unit.evidence import gate_scenarios as scenario
from tests.unit.evidence.harness import Harness

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]


async def test_client_clocks_decide_nothing(evidence: Harness) -> None:
    await scenario.client_clocks_decide_nothing(evidence)


async def test_only_the_routers_probes_count(evidence: Harness) -> None:
    await scenario.only_the_routers_probes_count(evidence)


async def test_no_submitter_approves_and_capacities_need_distinct_people(
    evidence: Harness,
) -> None:
    await scenario.no_submitter_approves_and_capacities_need_distinct_people(evidence)
