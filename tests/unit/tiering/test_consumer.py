"""The consumer in embedded mode: lifecycle events in, decisions out, idempotent, re-tiering on restart."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from aigov_events.catalog import ApprovalGranted, SystemRegistered, SystemUpdated
from aigov_events.catalog.decisions import MaterialChangeDetected, TierAssigned
from aigov_events.catalog.enums import ApprovalScope
from aigov_runtime.database import create_engine, create_sessionmaker
from aigov_tiering.models import ManifestChange
from aigov_tiering.policy import load_pack
from tests.unit.tiering.conftest import embedded_settings
from tests.unit.tiering.harness import (
    READER,
    RunningTiering,
    approval,
    auth,
    evaluation,
    registered,
    running_tiering,
    updated,
)
from tests.unit.tiering.helpers import DEFAULT_PACK, default_pack, example_document, with_changes

pytestmark = pytest.mark.asyncio

SUMMARIZER = example_document("support-summarizer")


async def manifest_changes(tiering: RunningTiering, system_id: str) -> list[ManifestChange]:
    engine = create_engine(tiering.settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            result = await session.execute(
                select(ManifestChange).where(ManifestChange.system_id == system_id)  # type: ignore[arg-type]
            )
            return list(result.scalars())
    finally:
        await engine.dispose()


class TestTierAssigned:
    async def test_registration_is_tiered(self, tiering: RunningTiering) -> None:
        [sent] = await tiering.publish(registered(SUMMARIZER))
        [decision] = await tiering.decisions(1)
        payload = decision.payload
        assert isinstance(payload, TierAssigned)
        assert (payload.system_id, payload.tier.value, payload.manifest_revision) == (
            "support-summarizer",
            "high",
            1,
        )
        assert payload.manifest_sha256 == sent.payload.manifest_sha256
        assert payload.policy == default_pack().ref
        assert payload.previous_tier is None
        assert decision.envelope.source == "/aigov/tiering"
        assert decision.envelope.subject == "support-summarizer"

    async def test_redelivered_event_is_decided_once(self, tiering: RunningTiering) -> None:
        [sent] = await tiering.publish(registered(SUMMARIZER, system_id="redelivered"))
        await tiering.decisions(1)
        await tiering.republish(sent)
        # A marker event after the duplicate: once its decision is out, the duplicate was handled.
        await tiering.publish(registered(SUMMARIZER, system_id="marker"))
        decisions = await tiering.decisions(2)
        assert [d.system_id for d in decisions] == ["redelivered", "marker"]

    async def test_update_carries_the_previous_tier(self, tiering: RunningTiering) -> None:
        first = registered(example_document("code-assistant"))
        riskier = with_changes(example_document("code-assistant"), {"spec.users.public": True})
        await tiering.publish(first, updated(riskier, revision=2, previous=first))
        decisions = await tiering.decisions(2)
        second = decisions[1].payload
        assert isinstance(second, TierAssigned)
        assert (second.previous_tier, second.tier) == ("low", "medium")


class TestMaterialChange:
    async def test_material_change_against_the_approved_manifest(
        self, tiering: RunningTiering
    ) -> None:
        first = registered(SUMMARIZER)
        changed = with_changes(SUMMARIZER, {"spec.genai.safetyFilters.policy": "none"})
        await tiering.publish(
            first, approval("support-summarizer"), updated(changed, revision=2, previous=first)
        )
        decisions = await tiering.decisions(3)
        assert [d.type for d in decisions] == [
            "io.aigov.tier.assigned.v1",
            "io.aigov.tier.assigned.v1",
            "io.aigov.material_change.detected.v1",
        ]
        change = decisions[2].payload
        assert isinstance(change, MaterialChangeDetected)
        assert change.change_id == "mc-support-summarizer-r2"
        assert change.voids_approvals_of == "2026.11.3"
        assert change.manifest_diff is not None
        assert change.manifest_diff.changed_fields == ["spec.genai.safetyFilters.policy"]
        [field] = change.manifest_diff.changes
        assert (field.old, field.new, field.rule) == (
            "content-safety-strict-v2",
            "none",
            "safety-filter-policy",
        )

    async def test_non_material_change_is_recorded_not_published(
        self, tiering: RunningTiering
    ) -> None:
        first = registered(SUMMARIZER, system_id="quiet")
        changed = with_changes(SUMMARIZER, {"metadata.id": "quiet", "spec.purpose": "Summaries."})
        await tiering.publish(
            first, approval("quiet"), updated(changed, revision=2, previous=first)
        )
        await tiering.publish(registered(SUMMARIZER, system_id="marker"))
        decisions = await tiering.decisions(3)
        assert [d.type for d in decisions] == ["io.aigov.tier.assigned.v1"] * 3
        [record] = await manifest_changes(tiering, "quiet")
        assert (record.material, record.non_material_fields, record.baseline_revision) == (
            False,
            ["spec.purpose"],
            1,
        )

    async def test_reviewers_read_the_history(self, tiering: RunningTiering) -> None:
        first = registered(SUMMARIZER)
        material = with_changes(SUMMARIZER, {"spec.data.labelPolicy": "agent-rated"})
        second = updated(material, revision=2, previous=first)
        cosmetic = with_changes(material, {"metadata.oncall": "new-rotation"})
        await tiering.publish(
            first,
            approval("support-summarizer"),
            second,
            updated(cosmetic, revision=3, previous=second),
        )
        await tiering.decisions(4)
        response = await tiering.client.get(
            "/v1/tiering/systems/support-summarizer", headers=auth(READER)
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["revision"], body["tier"]) == (3, "high")
        assert body["baseline"] == {
            "revision": 1,
            "version": "2026.11.3",
            "pending_change_id": "mc-support-summarizer-r2",
        }
        assert [(c["revision"], c["material"]) for c in body["changes"]] == [(2, True), (3, True)]
        # Revision 3 repeats the pending change (no new event) and adds a non-material field.
        assert "change_id" not in body["changes"][1]
        assert body["changes"][1]["non_material_fields"] == ["metadata.oncall"]
        missing = await tiering.client.get("/v1/tiering/systems/nobody", headers=auth(READER))
        assert missing.status_code == 404

    async def test_reintroduced_change_after_a_revert_is_published_again(
        self, tiering: RunningTiering
    ) -> None:
        first = registered(SUMMARIZER)
        changed = with_changes(SUMMARIZER, {"spec.deployment.environments": ["staging"]})
        revisions: list[SystemRegistered | SystemUpdated] = [first]
        for revision, document in enumerate([changed, SUMMARIZER, changed], start=2):
            revisions.append(updated(document, revision=revision, previous=revisions[-1]))
        await tiering.publish(first, approval("support-summarizer"), *revisions[1:])
        decisions = await tiering.decisions(6)
        changes = [
            d.payload.change_id for d in decisions if isinstance(d.payload, MaterialChangeDetected)
        ]
        assert changes == ["mc-support-summarizer-r2", "mc-support-summarizer-r4"]

    async def test_no_approval_no_material_change_event(self, tiering: RunningTiering) -> None:
        first = registered(SUMMARIZER, system_id="unapproved")
        changed = with_changes(
            SUMMARIZER, {"metadata.id": "unapproved", "spec.deployment.regions": ["EU"]}
        )
        await tiering.publish(first, updated(changed, revision=2, previous=first))
        await tiering.publish(registered(SUMMARIZER, system_id="marker"))
        decisions = await tiering.decisions(3)
        assert all(d.type == "io.aigov.tier.assigned.v1" for d in decisions)
        [record] = await manifest_changes(tiering, "unapproved")
        assert record.material
        assert record.baseline_revision is None
        assert record.change_id is None

    async def test_approving_the_change_makes_it_the_baseline(
        self, tiering: RunningTiering
    ) -> None:
        first = registered(SUMMARIZER)
        second_doc = with_changes(SUMMARIZER, {"spec.deployment.regions": ["EU"]})
        second = updated(second_doc, revision=2, previous=first)
        third_doc = with_changes(second_doc, {"spec.humanOversight": "spot checks"})
        await tiering.publish(first, approval("support-summarizer"), second)
        await tiering.decisions(3)
        change_approval = ApprovalGranted(
            system_id="support-summarizer",
            version="2026.11.3",
            scope=ApprovalScope.MATERIAL_CHANGE,
            material_change_id="mc-support-summarizer-r2",
            rationale="New region reviewed.",
        )
        await tiering.publish(change_approval, updated(third_doc, revision=3, previous=second))
        decisions = await tiering.decisions(4)
        assert decisions[3].type == "io.aigov.tier.assigned.v1"  # revision 3: nothing material
        records = {r.revision: r for r in await manifest_changes(tiering, "support-summarizer")}
        assert (records[3].baseline_revision, records[3].material) == (2, False)
        assert records[3].non_material_fields == ["spec.humanOversight"]

    async def test_evaluation_regression(self, tiering: RunningTiering) -> None:
        system = "support-summarizer"
        await tiering.publish(
            registered(SUMMARIZER),
            evaluation(system, groundedness=0.86, prompt_injection_success_rate=0.02),
            approval(system),
            evaluation(
                system, version="2026.12.0", groundedness=0.80, prompt_injection_success_rate=0.03
            ),
        )
        decisions = await tiering.decisions(2)
        change = decisions[1].payload
        assert isinstance(change, MaterialChangeDetected)
        assert change.kind.value == "evaluation"
        assert change.evaluation_regression is not None
        assert change.evaluation_regression.baseline_version == "2026.11.3"
        assert [m.metric for m in change.evaluation_regression.metrics] == ["groundedness"]
        assert change.voids_approvals_of == "2026.12.0"


async def test_retiering_publishes_only_changed_decisions(tmp_path: Path) -> None:
    async with running_tiering(embedded_settings(tmp_path)) as first:
        await first.publish(registered(SUMMARIZER), registered(example_document("code-assistant")))
        assert len(await first.decisions(2)) == 2
    pack = tmp_path / "pack"
    shutil.copytree(DEFAULT_PACK, pack)
    evaluation_yaml = pack / "evaluation.yaml"
    evaluation_yaml.write_text(
        evaluation_yaml.read_text("utf-8").replace(
            "thresholds: {high: 0.05,", "thresholds: {high: 0.03,"
        )
    )
    new_sha = load_pack(pack).ref.sha256
    async with running_tiering(embedded_settings(tmp_path, policy_dir=pack)) as second:
        await second.decisions(3)
        # A marker proves the consumer runs after re-tiering, and that nothing else was published.
        await second.publish(registered(SUMMARIZER, system_id="marker"))
        decisions = await second.decisions(4)
    retiered = decisions[2].payload
    assert isinstance(retiered, TierAssigned)
    assert retiered.system_id == "support-summarizer"  # code-assistant's decision did not change
    assert retiered.policy.sha256 == new_sha
    assert retiered.previous_tier == "high"
    assert {(m.metric, m.threshold) for m in retiered.evaluation_minimums} >= {
        ("prompt_injection_success_rate", 0.03)
    }
    assert decisions[3].system_id == "marker"
