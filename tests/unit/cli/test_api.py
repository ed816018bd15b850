"""Failures on the way to the server: unreachable, refused tokens, retries that publish once."""

from __future__ import annotations

from pathlib import Path

from aigov_events.topics import LIFECYCLE
from tests.unit.cli.conftest import Aigov, Intake, example, new_system
from tests.unit.cli.fake_evidence import FakeEvidence, fake_evidence
from tests.unit.cli.servers import free_port


class TestUnreachable:
    def test_nothing_listening(self, tmp_path: Path) -> None:
        url = f"http://127.0.0.1:{free_port()}"
        result = Aigov()("gate", "--system", "s", "--version", "1", aigov_url=url)
        assert result.exit_code == 2
        assert f"cannot reach evidence at {url}/v1/gate" in result.stderr
        assert "Is the server running and is the URL right? (AIGOV_URL = " in result.stderr


class TestRefusals:
    def test_an_unknown_token(self, aigov: Aigov, tmp_path: Path) -> None:
        body = example("evaluation.json", tmp_path, system=new_system())
        result = aigov("emit", "evaluation", "-f", str(body), token="not-a-known-token-0000000")
        assert result.exit_code == 2
        assert ": 401 " in result.stderr
        assert "Check the token (AIGOV_TOKEN): the server does not know it." in result.stderr


class TestRetries:
    def test_a_retry_reuses_the_idempotency_key(
        self, aigov: Aigov, intake: Intake, tmp_path: Path
    ) -> None:
        # The same key twice, as the CLI's own retries send it: published once.
        system = new_system()
        body = str(example("evaluation.json", tmp_path, system=system))
        first = aigov("emit", "evaluation", "-f", body, "--idempotency-key", f"{system}-1")
        second = aigov("emit", "evaluation", "-f", body, "--idempotency-key", f"{system}-1")
        assert first.exit_code == second.exit_code == 0
        assert "already accepted before, not published again" in second.stdout
        assert len(intake.events(LIFECYCLE, system=system)) == 1

    def test_503_is_retried_then_succeeds(self, tmp_path: Path) -> None:
        fake = FakeEvidence(gate_status=503)
        with fake_evidence(fake):
            calls = 0

            def recover() -> None:
                nonlocal calls
                calls += 1

            # The stand-in answers 503 with Retry-After: 0; after two, the gate recovers.
            original = fake.answer

            def flaky(path: str, query: dict[str, list[str]]) -> tuple[int, object]:
                recover()
                fake.gate_status = 503 if calls <= 2 else 200
                return original(path, query)

            fake.answer = flaky  # type: ignore[method-assign]
            result = Aigov()("gate", "--system", "s", "--version", "1", aigov_url=fake.url)
        assert result.exit_code == 0, result.output
        assert calls == 3
