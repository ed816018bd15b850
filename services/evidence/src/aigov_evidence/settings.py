"""Settings of the evidence service (`AIGOV_*` environment variables).

The checkpoint signing key is an Ed25519 private key in PEM (PKCS#8) form, read from the file
named by `AIGOV_EVIDENCE_SIGNING_KEY_FILE` (a mounted secret). In `env=dev` without one, a key
is generated once under `.local/evidence/` and reused; `env=prod` refuses to start without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, model_validator

from aigov_runtime.settings import Port, ServiceSettings

DEV_SIGNING_KEY_PATH = Path(".local/evidence/checkpoint-signing-key.pem")


class Settings(ServiceSettings):
    """Settings of evidence: the shared ones (port 8083) plus ledger, checkpoint and sweep knobs."""

    http_port: Port = 8083
    # PostgreSQL schema of the service's tables (a test or a second environment can use its own).
    evidence_schema: str = Field(default="evidence", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    # Consumer group of the ledger consumer; every replica joins the same group.
    evidence_consumer_group: str = Field(default="aigov-evidence", min_length=1, max_length=200)
    # Records appended per ledger transaction (at most; a poll may return fewer).
    evidence_batch_size: int = Field(default=2000, ge=1, le=50_000)
    # Ed25519 private key (PEM, PKCS#8) signing the ledger checkpoints.
    evidence_signing_key_file: Path | None = None
    evidence_dev_signing_key_path: Path = DEV_SIGNING_KEY_PATH
    # How often a signed checkpoint of every chain head is taken (0 switches it off).
    evidence_checkpoint_interval_seconds: float = Field(default=300.0, ge=0)
    # How often granted waivers past their expiry are announced with waiver.expired (0: off).
    evidence_waiver_sweep_interval_seconds: float = Field(default=60.0, ge=0)

    @model_validator(mode="after")
    def _signing_key_in_prod(self) -> Self:
        if self.env == "prod" and self.evidence_signing_key_file is None:
            raise ValueError(
                "env=prod requires AIGOV_EVIDENCE_SIGNING_KEY_FILE (an Ed25519 private key, PEM)"
            )
        return self
