"""The ledger on PostgreSQL: append-only in the database, tampering found, checkpoints, rebuild."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from aigov_evidence.chain import event_hash, link_hash
from aigov_evidence.checkpoints import load_signing_key, signature_valid, take_checkpoint
from aigov_evidence.models import PROJECTIONS
from aigov_evidence.rebuild import rebuild_projections
from tests.unit.evidence import events as ev
from tests.unit.evidence.harness import READER, Harness, auth

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]

SYSTEM = "ledger-system"


async def _history(evidence: Harness) -> None:
    await evidence.publish(
        ev.registered(SYSTEM),
        ev.high_tier(SYSTEM),
        ev.evaluation(SYSTEM, ev.request_body("evaluation.json")),
        ev.artifact(SYSTEM, ev.request_body("artifact.json")),
        ev.approval(SYSTEM),
    )


async def _verify(evidence: Harness) -> dict[str, Any]:
    response = await evidence.client.get(
        f"/v1/systems/{SYSTEM}/ledger/verify", headers=auth(READER)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestAppendOnly:
    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE ledger SET actor = 'mallory' WHERE sequence = 2",
            "DELETE FROM ledger WHERE sequence = 2",
            "TRUNCATE ledger",
            "DELETE FROM checkpoints",
            "UPDATE checkpoints SET key_id = 'forged'",
        ],
    )
    async def test_the_database_refuses_changes(self, evidence: Harness, statement: str) -> None:
        await _history(evidence)
        async with evidence.sessionmaker() as session, session.begin():
            await take_checkpoint(session, load_signing_key(evidence.settings))
        with pytest.raises(DBAPIError, match="append-only"):
            async with evidence.engine.begin() as connection:
                await connection.execute(text(statement))
        assert (await _verify(evidence))["ok"]


class TestVerify:
    async def test_an_intact_chain_verifies(self, evidence: Harness) -> None:
        await _history(evidence)
        result = await _verify(evidence)
        assert result["ok"] is True
        assert result["records"] == 5
        assert result["broken_at"] is None

    async def test_an_edit_behind_the_services_back_is_reported(self, evidence: Harness) -> None:
        await _history(evidence)
        async with evidence.engine.begin() as connection:
            # A superuser can switch triggers off for its session; the chain still tells.
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            await connection.execute(
                text(
                    "UPDATE ledger SET payload = jsonb_set(payload, '{metrics,3,value}', '0.01') "
                    "WHERE system_id = :s AND sequence = 3"
                ),
                {"s": SYSTEM},
            )
        result = await _verify(evidence)
        assert result["ok"] is False
        assert result["broken_at"] == 3
        assert "altered" in result["reason"]
        assert result["records"] == 2

    async def test_a_rewritten_chain_is_caught_by_the_checkpoint(self, evidence: Harness) -> None:
        await _history(evidence)
        key = load_signing_key(evidence.settings)
        async with evidence.sessionmaker() as session, session.begin():
            checkpoint = await take_checkpoint(session, key)
        assert checkpoint is not None
        # Rewrite the last record consistently (new event, recomputed hashes): only the
        # signed checkpoint can tell.
        async with evidence.engine.begin() as connection:
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            row = (
                await connection.execute(
                    text(
                        "SELECT attributes, payload, prev_hash FROM ledger "
                        "WHERE system_id = :s AND sequence = 5"
                    ),
                    {"s": SYSTEM},
                )
            ).one()
            attributes = {**row.attributes, "actor": "mallory"}
            digest = event_hash(attributes, row.payload)
            chained = link_hash(row.prev_hash, 5, digest)
            await connection.execute(
                text(
                    "UPDATE ledger SET attributes = CAST(:a AS jsonb), actor = 'mallory', "
                    "event_hash = :e, hash = :h WHERE system_id = :s AND sequence = 5"
                ),
                {"a": json.dumps(attributes), "e": digest, "h": chained, "s": SYSTEM},
            )
            await connection.execute(
                text("UPDATE chain_heads SET hash = :h WHERE system_id = :s"),
                {"h": chained, "s": SYSTEM},
            )
        result = await _verify(evidence)
        assert result["ok"] is False
        assert result["broken_at"] == 5
        assert "checkpoint" in result["reason"]


class TestCheckpoints:
    async def test_latest_checkpoint_is_signed_over_every_head(self, evidence: Harness) -> None:
        missing = await evidence.client.get("/v1/checkpoints/latest", headers=auth(READER))
        assert missing.status_code == 404
        await _history(evidence)
        key = load_signing_key(evidence.settings)
        async with evidence.sessionmaker() as session, session.begin():
            assert await take_checkpoint(session, key) is not None
        async with evidence.sessionmaker() as session, session.begin():
            assert await take_checkpoint(session, key) is None, "nothing changed: no new checkpoint"
        response = await evidence.client.get("/v1/checkpoints/latest", headers=auth(READER))
        assert response.status_code == 200
        checkpoint = response.json()
        verified = await _verify(evidence)
        assert checkpoint["body"]["heads"][SYSTEM] == {
            "sequence": verified["head_sequence"],
            "hash": verified["head_hash"],
        }
        assert signature_valid(
            checkpoint["body"], checkpoint["signature"], checkpoint["public_key"]
        )
        forged = {**checkpoint["body"], "ledger_records": 1}
        assert not signature_valid(forged, checkpoint["signature"], checkpoint["public_key"])


class TestRebuild:
    async def test_rebuilt_projections_equal_the_live_ones(self, evidence: Harness) -> None:
        await _history(evidence)
        await evidence.publish(
            ev.waiver_requested(
                SYSTEM,
                ev.request_body("waiver-request.json"),
                waiver_id="W-1",
                expires_at=ev.in_days(30),
            ),
            ev.waiver_granted(SYSTEM, waiver_id="W-1"),
            ev.deployment_requested(SYSTEM),
        )
        await evidence.gate(SYSTEM, ev.VERSION)

        async def snapshot() -> dict[str, list[tuple[Any, ...]]]:
            async with evidence.engine.connect() as connection:
                return {
                    model.__tablename__: sorted(  # type: ignore[misc]
                        tuple(row)
                        for row in await connection.execute(
                            text(f"SELECT * FROM {model.__tablename__}")
                        )
                    )
                    for model in PROJECTIONS
                }

        live = await snapshot()
        assert all(live[table] for table in ("systems", "releases", "waivers"))
        assert await rebuild_projections(evidence.sessionmaker) >= 9
        assert await snapshot() == live
