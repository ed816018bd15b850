"""Webhook signature schemes: published vectors, tampering, stale timestamps, the legacy form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigov_intake.signatures import (
    InvalidSignature,
    MissingSignature,
    MlflowScheme,
    StaleDelivery,
    check_timestamp,
    sign_github,
    sign_mlflow,
    sign_mlflow_legacy,
    verify_github,
    verify_mlflow,
)

# GitHub's documented test vector (validating-webhook-deliveries).
GITHUB_SECRET = b"It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

# An MLflow vector computed once with hmac/base64 outside this code base (regression guard).
MLFLOW_SECRET = b"whsec-aigov-unit-test-0001"
MLFLOW_DELIVERY = "6f1d0b5e-2c3a-4e8f-9b7a-1c2d3e4f5a6b"
MLFLOW_TIMESTAMP = "1772443267"
MLFLOW_BODY = (
    b'{"entity": "model_version", "action": "created", '
    b'"timestamp": "2026-03-02T09:41:07.512044+00:00", "data": {}}'
)
MLFLOW_SIGNATURE = "v1,8YvVkYnE85H75ceCj0WtJ8zebV5Fh2WnVvZ+7CHjjto="
MLFLOW_LEGACY_SIGNATURE = "sha256=355b0673eeb532924227f952315461bfa687fdad8fa8c0a8c4fd66a1de56f01f"
NOW = float(MLFLOW_TIMESTAMP) + 30
TOLERANCE = 300.0


def mlflow(
    body: bytes = MLFLOW_BODY,
    *,
    signature: str | None = MLFLOW_SIGNATURE,
    delivery_id: str | None = MLFLOW_DELIVERY,
    timestamp: str | None = MLFLOW_TIMESTAMP,
    secrets: tuple[bytes, ...] = (MLFLOW_SECRET,),
    now: float = NOW,
    accept_legacy: bool = False,
) -> MlflowScheme:
    """verify_mlflow with the vector's values unless overridden."""
    return verify_mlflow(
        body,
        signature=signature,
        delivery_id=delivery_id,
        timestamp=timestamp,
        secrets=secrets,
        now=now,
        tolerance_seconds=TOLERANCE,
        accept_legacy=accept_legacy,
    )


class TestGithub:
    def test_documented_vector(self) -> None:
        assert sign_github(GITHUB_SECRET, GITHUB_BODY) == GITHUB_SIGNATURE
        verify_github(GITHUB_BODY, GITHUB_SIGNATURE, secrets=[GITHUB_SECRET])

    def test_upper_case_hex_is_the_same_digest(self) -> None:
        verify_github(
            GITHUB_BODY, "sha256=" + GITHUB_SIGNATURE[7:].upper(), secrets=[GITHUB_SECRET]
        )

    @pytest.mark.parametrize(
        "body", [b"Hello, World?", b"Hello, World! ", b"hello, World!", b""], ids=repr
    )
    def test_tampered_body_is_refused(self, body: bytes) -> None:
        with pytest.raises(InvalidSignature, match="does not match"):
            verify_github(body, GITHUB_SIGNATURE, secrets=[GITHUB_SECRET])

    def test_other_secret_is_refused(self) -> None:
        with pytest.raises(InvalidSignature):
            verify_github(GITHUB_BODY, GITHUB_SIGNATURE, secrets=[b"It's a secret to everybody"])

    @pytest.mark.parametrize("header", [None, ""])
    def test_missing_signature(self, header: str | None) -> None:
        with pytest.raises(MissingSignature, match="X-Hub-Signature-256"):
            verify_github(GITHUB_BODY, header, secrets=[GITHUB_SECRET])

    @pytest.mark.parametrize(
        "header",
        [
            "sha1=" + "0" * 40,  # the legacy X-Hub-Signature form
            GITHUB_SIGNATURE[7:],  # no scheme
            GITHUB_SIGNATURE[:-2],  # truncated
            GITHUB_SIGNATURE[:-1] + "g",  # not hex
            "sha256=" + "ab " * 16 + "ab" * 8,  # fromhex would skip the spaces
            "sha512=" + GITHUB_SIGNATURE[7:],
        ],
    )
    def test_malformed_signature_is_refused(self, header: str) -> None:
        with pytest.raises(InvalidSignature):
            verify_github(GITHUB_BODY, header, secrets=[GITHUB_SECRET])

    def test_any_configured_secret_verifies_during_rotation(self) -> None:
        verify_github(GITHUB_BODY, GITHUB_SIGNATURE, secrets=[b"the-new-secret", GITHUB_SECRET])

    def test_no_secret_verifies_nothing(self) -> None:
        with pytest.raises(InvalidSignature):
            verify_github(GITHUB_BODY, GITHUB_SIGNATURE, secrets=[])


class TestMlflowV1:
    def test_vector(self) -> None:
        assert (
            sign_mlflow(
                MLFLOW_SECRET,
                delivery_id=MLFLOW_DELIVERY,
                timestamp=MLFLOW_TIMESTAMP,
                body=MLFLOW_BODY,
            )
            == MLFLOW_SIGNATURE
        )
        assert mlflow() is MlflowScheme.V1

    def test_tampered_body_is_refused(self) -> None:
        with pytest.raises(InvalidSignature, match="does not match"):
            mlflow(MLFLOW_BODY.replace(b"created", b"deleted"))

    def test_the_delivery_id_is_signed(self) -> None:
        with pytest.raises(InvalidSignature):
            mlflow(delivery_id=MLFLOW_DELIVERY.replace("6f1d", "6f1e"))

    def test_the_timestamp_is_signed(self) -> None:
        # A replay cannot refresh the timestamp: the signature covers it.
        with pytest.raises(InvalidSignature):
            mlflow(timestamp=str(int(MLFLOW_TIMESTAMP) + 1))

    @pytest.mark.parametrize("skew", [-301.0, 301.0, -86_400.0, 10**9])
    def test_stale_or_future_timestamp_is_refused(self, skew: float) -> None:
        with pytest.raises(StaleDelivery, match="300 s"):
            mlflow(now=float(MLFLOW_TIMESTAMP) - skew)

    @pytest.mark.parametrize("skew", [-300.0, 0.0, 300.0])
    def test_timestamp_within_tolerance_is_accepted(self, skew: float) -> None:
        assert mlflow(now=float(MLFLOW_TIMESTAMP) + skew) is MlflowScheme.V1

    def test_stale_is_refused_before_any_hmac_is_computed(self) -> None:
        # Order matters for cost: junk with an old timestamp is refused without hashing the body.
        with pytest.raises(StaleDelivery):
            mlflow(signature="v1,not-even-base64", now=NOW + 3600)

    @pytest.mark.parametrize("timestamp", ["", None])
    def test_missing_timestamp(self, timestamp: str | None) -> None:
        with pytest.raises(MissingSignature, match="X-MLflow-Timestamp"):
            mlflow(timestamp=timestamp)

    @pytest.mark.parametrize("timestamp", ["2026-03-02T09:41:07Z", "1772443267.5", "-1", "١٢٣"])
    def test_timestamp_must_be_unix_seconds(self, timestamp: str) -> None:
        with pytest.raises(InvalidSignature, match="unix seconds"):
            mlflow(timestamp=timestamp)

    def test_missing_delivery_id(self) -> None:
        with pytest.raises(MissingSignature, match="X-MLflow-Delivery-Id"):
            mlflow(delivery_id=None)

    @pytest.mark.parametrize("signature", [None, "", "   "])
    def test_missing_signature(self, signature: str | None) -> None:
        with pytest.raises(MissingSignature, match="secret"):
            mlflow(signature=signature)

    @pytest.mark.parametrize(
        "signature",
        [
            "v2," + MLFLOW_SIGNATURE[3:],
            MLFLOW_SIGNATURE[3:],
            "v1,!!!",
            "v1," + MLFLOW_SIGNATURE[3:-4],  # a shorter digest
        ],
    )
    def test_malformed_signature_is_refused(self, signature: str) -> None:
        with pytest.raises(InvalidSignature):
            mlflow(signature=signature)

    def test_one_of_several_space_separated_signatures_may_match(self) -> None:
        other = sign_mlflow(
            b"old-secret", delivery_id=MLFLOW_DELIVERY, timestamp=MLFLOW_TIMESTAMP, body=MLFLOW_BODY
        )
        assert mlflow(signature=f"{other} {MLFLOW_SIGNATURE}") is MlflowScheme.V1

    def test_any_configured_secret_verifies_during_rotation(self) -> None:
        assert mlflow(secrets=(b"the-new-secret", MLFLOW_SECRET)) is MlflowScheme.V1


class TestMlflowLegacy:
    def test_vector_is_refused_unless_enabled(self) -> None:
        assert sign_mlflow_legacy(MLFLOW_SECRET, MLFLOW_BODY) == MLFLOW_LEGACY_SIGNATURE
        with pytest.raises(InvalidSignature, match="legacy"):
            mlflow(signature=MLFLOW_LEGACY_SIGNATURE)

    def test_vector_verifies_when_enabled(self) -> None:
        assert mlflow(signature=MLFLOW_LEGACY_SIGNATURE, accept_legacy=True) is MlflowScheme.LEGACY

    def test_needs_neither_delivery_id_nor_timestamp(self) -> None:
        verdict = mlflow(
            signature=MLFLOW_LEGACY_SIGNATURE, delivery_id=None, timestamp=None, accept_legacy=True
        )
        assert verdict is MlflowScheme.LEGACY

    def test_tampered_body_is_refused(self) -> None:
        with pytest.raises(InvalidSignature):
            mlflow(b"{}", signature=MLFLOW_LEGACY_SIGNATURE, accept_legacy=True)

    def test_a_stated_stale_timestamp_is_still_refused(self) -> None:
        with pytest.raises(StaleDelivery):
            mlflow(signature=MLFLOW_LEGACY_SIGNATURE, accept_legacy=True, now=NOW + 3600)


class TestCheckTimestamp:
    def test_returns_the_seconds(self) -> None:
        assert check_timestamp(" 1772443267 ", now=NOW, tolerance_seconds=60) == 1772443267

    def test_absurdly_long_number_is_refused_without_parsing(self) -> None:
        with pytest.raises(InvalidSignature):
            check_timestamp("9" * 5000, now=NOW, tolerance_seconds=60)


class TestProperties:
    @given(secret=st.binary(min_size=1, max_size=64), body=st.binary(max_size=512))
    def test_github_round_trip(self, secret: bytes, body: bytes) -> None:
        verify_github(body, sign_github(secret, body), secrets=[secret])

    @given(
        secret=st.binary(min_size=1, max_size=64),
        body=st.binary(min_size=1, max_size=512),
        index=st.integers(min_value=0),
        flip=st.integers(min_value=1, max_value=255),
    )
    def test_github_any_changed_byte_is_refused(
        self, secret: bytes, body: bytes, index: int, flip: int
    ) -> None:
        tampered = bytearray(body)
        tampered[index % len(body)] ^= flip
        with pytest.raises(InvalidSignature):
            verify_github(bytes(tampered), sign_github(secret, body), secrets=[secret])

    @given(
        secret=st.binary(min_size=1, max_size=64),
        delivery_id=st.uuids().map(str),
        body=st.binary(max_size=512),
        index=st.integers(min_value=0),
    )
    def test_mlflow_round_trip_and_tampering(
        self, secret: bytes, delivery_id: str, body: bytes, index: int
    ) -> None:
        signature = sign_mlflow(
            secret, delivery_id=delivery_id, timestamp=MLFLOW_TIMESTAMP, body=body
        )
        assert (
            mlflow(body, signature=signature, delivery_id=delivery_id, secrets=(secret,))
            is MlflowScheme.V1
        )
        tampered = (
            body + b" " if not body else body[: index % len(body)] + body[index % len(body) + 1 :]
        )
        with pytest.raises(InvalidSignature):
            mlflow(tampered, signature=signature, delivery_id=delivery_id, secrets=(secret,))
