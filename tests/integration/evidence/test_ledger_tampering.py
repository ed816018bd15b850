"""Attacks on the ledger by someone with full database rights, on PostgreSQL.

Each attacker switches the append-only triggers off for its session
(`session_replication_role = replica`, as a superuser or the table owner can) and then
deletes, rewrites or inserts rows. Verification pins the checkpoint signing keys in
configuration, so every attack below is reported with a precise reason, except where the
docs say the database alone cannot tell (then an auditor's own copy of a checkpoint does).
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from aigov_evidence.chain import canonical_json, event_hash, link_hash
from aigov_evidence.checkpoints import key_id, load_signing_key, take_checkpoint
from aigov_evidence.models import Checkpoint
from tests.unit.evidence import events as ev
from tests.unit.evidence.harness import READER, Harness, auth

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]

SYSTEM = "tamper-system"


async def _history(evidence: Harness) -> None:
    """Five records: registered, tier, evaluation, artifact (4), approval (5)."""
    await evidence.publish(
        ev.registered(SYSTEM),
        ev.high_tier(SYSTEM),
        ev.evaluation(SYSTEM, ev.request_body("evaluation.json")),
        ev.artifact(SYSTEM, ev.request_body("artifact.json")),
        ev.approval(SYSTEM),
    )


async def _checkpoint(evidence: Harness) -> Checkpoint:
    async with evidence.sessionmaker() as session, session.begin():
        checkpoint = await take_checkpoint(session, load_signing_key(evidence.settings))
    assert checkpoint is not None
    assert checkpoint.id is not None
    return checkpoint


async def _tamper(evidence: Harness, *statements: tuple[str, dict[str, Any]]) -> None:
    """Run `statements` as an attacker: triggers off for the session, then the changes."""
    async with evidence.engine.begin() as connection:
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        for statement, parameters in statements:
            await connection.execute(text(statement), parameters)


async def _verify(evidence: Harness, supplied: dict[str, Any] | None = None) -> dict[str, Any]:
    path = f"/v1/systems/{SYSTEM}/ledger/verify"
    if supplied is None:
        response = await evidence.client.get(path, headers=auth(READER))
    else:
        response = await evidence.client.post(
            path, json={"checkpoint": supplied}, headers=auth(READER)
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _problems(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["kind"], p["detail"]) for p in result["problems"]]


async def _records(evidence: Harness) -> list[Any]:
    async with evidence.engine.connect() as connection:
        return list(
            await connection.execute(
                text(
                    "SELECT sequence, attributes, payload, hash FROM ledger "
                    "WHERE system_id = :s ORDER BY sequence"
                ),
                {"s": SYSTEM},
            )
        )


def _reset_heads(sequence: int, hash_: str) -> tuple[str, dict[str, Any]]:
    return (
        "UPDATE chain_heads SET sequence = :q, hash = :h WHERE system_id = :s",
        {"q": sequence, "h": hash_, "s": SYSTEM},
    )


class TestTruncation:
    async def test_deleting_the_newest_records_and_resetting_the_head_is_reported(
        self, evidence: Harness
    ) -> None:
        await _history(evidence)
        checkpoint = await _checkpoint(evidence)
        records = await _records(evidence)
        # Remove the approval and the artifact, and make chain_heads agree with what is left.
        await _tamper(
            evidence,
            ("DELETE FROM ledger WHERE system_id = :s AND sequence IN (4, 5)", {"s": SYSTEM}),
            _reset_heads(3, records[2].hash),
        )
        result = await _verify(evidence)
        assert result["ok"] is False
        assert _problems(result) == [
            (
                "truncated",
                f"truncated: checkpoint {checkpoint.id} recorded sequence 5, the ledger ends at 3",
            )
        ]
        assert result["reason"] == _problems(result)[0][1]
        assert result["broken_at"] == 4

    async def test_deleting_a_whole_system_chain_is_reported(self, evidence: Harness) -> None:
        await _history(evidence)
        checkpoint = await _checkpoint(evidence)
        await _tamper(
            evidence,
            ("DELETE FROM ledger WHERE system_id = :s", {"s": SYSTEM}),
            ("DELETE FROM chain_heads WHERE system_id = :s", {"s": SYSTEM}),
            ("DELETE FROM systems WHERE system_id = :s", {"s": SYSTEM}),
        )
        result = await _verify(evidence)
        assert result["ok"] is False
        assert _problems(result) == [
            (
                "truncated",
                f"truncated: checkpoint {checkpoint.id} recorded sequence 5, the ledger ends at 0",
            )
        ]

    async def test_deleting_newest_records_and_checkpoint_is_caught_by_an_auditors_copy(
        self, evidence: Harness
    ) -> None:
        await evidence.publish(
            ev.registered(SYSTEM),
            ev.high_tier(SYSTEM),
            ev.evaluation(SYSTEM, ev.request_body("evaluation.json")),
        )
        await _checkpoint(evidence)
        await evidence.publish(
            ev.artifact(SYSTEM, ev.request_body("artifact.json")), ev.approval(SYSTEM)
        )
        newest = await _checkpoint(evidence)
        # The auditor keeps its own copy of the newest checkpoint.
        kept = (await evidence.client.get("/v1/checkpoints/latest", headers=auth(READER))).json()
        records = await _records(evidence)
        await _tamper(
            evidence,
            ("DELETE FROM ledger WHERE system_id = :s AND sequence > 3", {"s": SYSTEM}),
            ("DELETE FROM checkpoints WHERE id = :i", {"i": newest.id}),
            _reset_heads(3, records[2].hash),
        )
        # What is left is consistent: the database alone cannot tell (see the docs' limits)...
        assert (await _verify(evidence))["ok"] is True
        # ...but the auditor's checkpoint can.
        result = await _verify(evidence, kept)
        assert result["ok"] is False
        assert _problems(result) == [
            (
                "checkpoint_missing",
                f"missing checkpoint: supplied checkpoint {newest.id} (body sha256 "
                f"{newest.body_sha256[:16]}) is not in the database",
            ),
            (
                "truncated",
                f"truncated: supplied checkpoint {newest.id} recorded sequence 5, "
                "the ledger ends at 3",
            ),
        ]


class TestRewrite:
    async def test_a_rechained_rewrite_with_a_checkpoint_signed_by_a_new_key_is_reported(
        self, evidence: Harness
    ) -> None:
        await _history(evidence)
        genuine = await _checkpoint(evidence)
        records = await _records(evidence)
        # Rewrite the evaluation (sequence 3) and re-chain everything after it.
        statements: list[tuple[str, dict[str, Any]]] = []
        prev = records[1].hash
        heads: dict[str, Any] = {}
        for row in records[2:]:
            attributes = dict(row.attributes)
            if row.sequence == 3:
                attributes["actor"] = "mallory"
            digest = event_hash(attributes, row.payload)
            chained = link_hash(prev, row.sequence, digest)
            statements.append(
                (
                    "UPDATE ledger SET attributes = CAST(:a AS jsonb), actor = :actor, "
                    "event_hash = :e, prev_hash = :p, hash = :h "
                    "WHERE system_id = :s AND sequence = :q",
                    {
                        "a": json.dumps(attributes),
                        "actor": attributes["actor"],
                        "e": digest,
                        "p": prev,
                        "h": chained,
                        "s": SYSTEM,
                        "q": row.sequence,
                    },
                )
            )
            prev = chained
            heads = {SYSTEM: {"sequence": row.sequence, "hash": chained}}
        statements.append(_reset_heads(5, prev))
        # A checkpoint over the rewritten heads, signed with the attacker's own key.
        attacker = Ed25519PrivateKey.generate()
        body = {**genuine.body, "previous_body_sha256": genuine.body_sha256, "heads": heads}
        document = canonical_json(body)
        public = attacker.public_key()
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        statements.append(
            (
                "INSERT INTO checkpoints (created_at, body, body_sha256, signature, public_key, "
                "key_id) VALUES (:c, CAST(:b AS jsonb), :sha, :sig, :pub, :kid)",
                {
                    "c": datetime.now(UTC),
                    "b": json.dumps(body),
                    "sha": hashlib.sha256(document).hexdigest(),
                    "sig": base64.b64encode(attacker.sign(document)).decode(),
                    "pub": base64.b64encode(raw).decode(),
                    "kid": key_id(public),
                },
            )
        )
        await _tamper(evidence, *statements)
        result = await _verify(evidence)
        assert result["ok"] is False
        problems = _problems(result)
        forged_id = genuine.id + 1  # type: ignore[operator]
        assert problems[0] == (
            "forged_checkpoint",
            f"forged checkpoint {forged_id}: signed by key {key_id(public)!r}, "
            "which is not a trusted key",
        )
        signed = genuine.body["heads"][SYSTEM]["hash"]
        assert problems[1] == (
            "rewritten",
            f"rewritten: record 5 does not match checkpoint {genuine.id} (signed hash "
            f"{signed[:16]}, ledger hash {prev[:16]}); a record between sequence 1 and 5 "
            "was changed",
        )
        assert len(problems) == 2
        assert result["broken_at"] == 5

    async def test_a_checkpoint_body_edited_under_its_signature_is_forged(
        self, evidence: Harness
    ) -> None:
        await _history(evidence)
        checkpoint = await _checkpoint(evidence)
        await _tamper(
            evidence,
            (
                "UPDATE checkpoints SET body = jsonb_set(body, '{ledger_records}', '1') "
                "WHERE id = :i",
                {"i": checkpoint.id},
            ),
        )
        result = await _verify(evidence)
        assert result["ok"] is False
        assert _problems(result)[0] == (
            "forged_checkpoint",
            f"forged checkpoint {checkpoint.id}: its signature does not verify with trusted "
            f"key {checkpoint.key_id!r} (body or signature altered)",
        )


class TestCheckpointChain:
    async def _three(self, evidence: Harness) -> list[Checkpoint]:
        taken = []
        await evidence.publish(ev.registered(SYSTEM))
        taken.append(await _checkpoint(evidence))
        await evidence.publish(ev.high_tier(SYSTEM))
        taken.append(await _checkpoint(evidence))
        await evidence.publish(ev.approval(SYSTEM))
        taken.append(await _checkpoint(evidence))
        return taken

    async def test_a_checkpoint_inserted_between_two_others_is_reported(
        self, evidence: Harness
    ) -> None:
        first, second, third = await self._three(evidence)
        # Make room between the first and the second, then replay a genuinely signed one there.
        await _tamper(
            evidence,
            ("UPDATE checkpoints SET id = id * 10", {}),
            (
                "INSERT INTO checkpoints (id, created_at, body, body_sha256, signature, "
                "public_key, key_id) SELECT 15, created_at, body, body_sha256, signature, "
                "public_key, key_id FROM checkpoints WHERE id = :i",
                {"i": third.id * 10},  # type: ignore[operator]
            ),
        )
        result = await _verify(evidence)
        assert result["ok"] is False
        assert (
            _problems(result)
            == [
                (
                    "checkpoint_chain",
                    f"missing or inserted checkpoint: checkpoint 15 names previous body "
                    f"{second.body_sha256[:16]}, but the checkpoint before it "
                    f"({first.id * 10}) has body {first.body_sha256[:16]}",  # type: ignore[operator]
                ),
                (
                    "checkpoint_chain",
                    f"missing or inserted checkpoint: checkpoint {second.id * 10} names previous "  # type: ignore[operator]
                    f"body {first.body_sha256[:16]}, but the checkpoint before it (15) has body "
                    f"{third.body_sha256[:16]}",
                ),
            ]
        )

    async def test_a_deleted_middle_checkpoint_is_reported(self, evidence: Harness) -> None:
        first, second, third = await self._three(evidence)
        await _tamper(evidence, ("DELETE FROM checkpoints WHERE id = :i", {"i": second.id}))
        result = await _verify(evidence)
        assert result["ok"] is False
        assert _problems(result) == [
            (
                "checkpoint_chain",
                f"missing or inserted checkpoint: checkpoint {third.id} names previous body "
                f"{second.body_sha256[:16]}, but the checkpoint before it ({first.id}) has "
                f"body {first.body_sha256[:16]}",
            )
        ]

    async def test_a_deleted_first_checkpoint_is_reported(self, evidence: Harness) -> None:
        first, second, _ = await self._three(evidence)
        await _tamper(evidence, ("DELETE FROM checkpoints WHERE id = :i", {"i": first.id}))
        result = await _verify(evidence)
        assert _problems(result) == [
            (
                "checkpoint_chain",
                f"missing or inserted checkpoint: checkpoint {second.id} names previous body "
                f"{first.body_sha256[:16]}, but no earlier checkpoint is in the database",
            )
        ]


class TestIntact:
    async def test_an_intact_ledger_with_checkpoints_verifies(self, evidence: Harness) -> None:
        await evidence.publish(ev.registered(SYSTEM), ev.high_tier(SYSTEM))
        await _checkpoint(evidence)
        await evidence.publish(ev.approval(SYSTEM))
        kept = await _checkpoint(evidence)
        await evidence.publish(ev.artifact(SYSTEM, ev.request_body("artifact.json")))
        result = await _verify(evidence)
        assert result["ok"] is True, result
        assert result["problems"] == []
        assert result["reason"] is None
        assert result["records"] == 4
        assert result["checkpoints"]["verified"] == 2
        assert result["checkpoints"]["newest"]["id"] == kept.id
        served = (await evidence.client.get("/v1/checkpoints/latest", headers=auth(READER))).json()
        with_copy = await _verify(evidence, served)
        assert with_copy["ok"] is True, with_copy
        assert with_copy["problems"] == []

    async def test_a_supplied_checkpoint_not_signed_by_a_trusted_key_is_422(
        self, evidence: Harness
    ) -> None:
        await _history(evidence)
        await _checkpoint(evidence)
        served = (await evidence.client.get("/v1/checkpoints/latest", headers=auth(READER))).json()
        served["body"]["ledger_records"] = 1
        response = await evidence.client.post(
            f"/v1/systems/{SYSTEM}/ledger/verify",
            json={"checkpoint": served},
            headers=auth(READER),
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "does not verify" in response.json()["detail"]
