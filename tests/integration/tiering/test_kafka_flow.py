"""On real Kafka and PostgreSQL: registration -> tier.assigned; a material change -> material_change.detected."""

from __future__ import annotations

import pytest

from aigov_events.catalog.decisions import MaterialChangeDetected, TierAssigned
from aigov_events.testing import read_records
from aigov_events.topics import DECISIONS
from tests.integration.tiering.conftest import unique
from tests.unit.tiering.harness import RunningTiering, approval, registered, updated
from tests.unit.tiering.helpers import default_pack, example_document, with_changes

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]


async def test_registration_is_tiered_on_kafka(tiering: RunningTiering) -> None:
    system_id = unique("resume-screener")
    await tiering.publish(registered(example_document("resume-screener"), system_id=system_id))
    [decision] = await tiering.decisions(1, max_wait=30)
    payload = decision.payload
    assert isinstance(payload, TierAssigned)
    assert (payload.system_id, payload.tier.value) == (system_id, "high")
    assert payload.rules[0].rule_id == "eu-ai-act-annex-iii"
    assert payload.policy == default_pack().ref
    [record] = await read_records(tiering.bus, [DECISIONS], count=1)
    assert record.key == system_id.encode()
    assert dict(record.headers)["ce_type"] == b"io.aigov.tier.assigned.v1"


async def test_material_manifest_change_on_kafka(tiering: RunningTiering) -> None:
    system_id = unique("support-summarizer")
    document = with_changes(example_document("support-summarizer"), {"metadata.id": system_id})
    first = registered(document)
    changed = with_changes(
        document,
        {"spec.users.population": ["enterprise-customers", "internal-staff", "consumers"]},
    )
    await tiering.publish(first, approval(system_id), updated(changed, revision=2, previous=first))
    decisions = await tiering.decisions(3, max_wait=30)
    assert [d.type for d in decisions] == [
        "io.aigov.tier.assigned.v1",
        "io.aigov.tier.assigned.v1",
        "io.aigov.material_change.detected.v1",
    ]
    change = decisions[2].payload
    assert isinstance(change, MaterialChangeDetected)
    assert change.manifest_diff is not None
    [field] = change.manifest_diff.changes
    assert (field.field, field.rule) == ("spec.users.population", "user-population")
    assert field.new == ["enterprise-customers", "internal-staff", "consumers"]
    assert change.voids_approvals_of == "2026.11.3"
