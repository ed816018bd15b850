"""Signing keys, checkpoints and the waiver sweep, in embedded mode."""

from __future__ import annotations

import logging
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr, ValidationError

from aigov_evidence.checkpoints import (
    SigningKeyError,
    load_signing_key,
    signature_valid,
    take_checkpoint,
)
from aigov_evidence.settings import Settings
from aigov_evidence.sweep import expiry_event_id, sweep_waivers
from tests.unit.evidence import events as ev
from tests.unit.evidence.conftest import embedded_settings
from tests.unit.evidence.harness import READER, Harness, auth

SYSTEM = "sweep-summarizer"


class TestSigningKey:
    def test_dev_generates_a_private_key_once_and_logs_only_its_id(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        settings = embedded_settings(tmp_path)
        with caplog.at_level(logging.WARNING):
            first = load_signing_key(settings)
        path = settings.evidence_dev_signing_key_path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        pem = path.read_text()
        assert "generated a dev checkpoint signing key" in caplog.text
        assert pem.splitlines()[1] not in caplog.text
        second = load_signing_key(settings)
        raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
        assert first.public_key().public_bytes(*raw) == second.public_key().public_bytes(*raw)

    def test_a_configured_key_file_is_used_and_checked(self, tmp_path: Path) -> None:
        key = Ed25519PrivateKey.generate()
        good = tmp_path / "key.pem"
        good.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        loaded = load_signing_key(embedded_settings(tmp_path, evidence_signing_key_file=good))
        assert loaded.sign(b"x") == key.sign(b"x")
        bad = tmp_path / "bad.pem"
        bad.write_text("not a key")
        with pytest.raises(SigningKeyError, match="cannot load"):
            load_signing_key(embedded_settings(tmp_path, evidence_signing_key_file=bad))

    def test_prod_requires_a_key_file(self) -> None:
        with pytest.raises(ValidationError, match="AIGOV_EVIDENCE_SIGNING_KEY_FILE"):
            Settings(
                env="prod",
                auth_tokens=SecretStr(
                    '{"a-very-long-random-token-XyZ123": {"principal": "p", "roles": ["reader"]}}'
                ),
            )


@pytest.mark.asyncio
class TestWithTheService:
    async def test_checkpoint_signs_the_heads(self, evidence: Harness) -> None:
        await evidence.publish(ev.registered(SYSTEM), ev.high_tier(SYSTEM))
        key = load_signing_key(evidence.settings)
        async with evidence.sessionmaker() as session, session.begin():
            checkpoint = await take_checkpoint(session, key)
        assert checkpoint is not None
        assert checkpoint.body["heads"][SYSTEM]["sequence"] == 2
        assert signature_valid(checkpoint.body, checkpoint.signature, checkpoint.public_key)
        served = (await evidence.client.get("/v1/checkpoints/latest", headers=auth(READER))).json()
        assert served["signature"] == checkpoint.signature
        assert served["algorithm"] == "Ed25519"

    async def test_the_sweep_expires_granted_waivers_once(self, evidence: Harness) -> None:
        expires = ev.in_days(1)
        await evidence.publish(
            ev.registered(SYSTEM),
            ev.waiver_requested(
                SYSTEM, ev.request_body("waiver-request.json"), waiver_id="W-1", expires_at=expires
            ),
            ev.waiver_granted(SYSTEM, waiver_id="W-1"),
        )
        now = expires - timedelta(minutes=1)
        assert await sweep_waivers(evidence.sessionmaker, evidence.publisher, now=now) == []
        later = expires + timedelta(minutes=1)
        assert await sweep_waivers(evidence.sessionmaker, evidence.publisher, now=later) == ["W-1"]
        await evidence.wait_recorded(expiry_event_id("W-1"))
        assert await sweep_waivers(evidence.sessionmaker, evidence.publisher, now=later) == []
        waivers = (await evidence.client.get("/v1/waivers", headers=auth(READER))).json()
        assert [w["status"] for w in waivers["items"]] == ["expired"]
