"""The three documents of the demo's high-tier release, generated in the all-in-one server.

The demo loads the public example requests (examples/requests/) through the HTTP API; the
documents must carry what those files say (values typed here from the files) and mark every
part without evidence as a gap.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest

from aigov_embedded.app import create_app
from aigov_embedded.demo import Demo, load
from aigov_embedded.demo_client import Endpoints
from aigov_embedded.settings import Settings
from aigov_runtime.asgi import running_lifespan

READER = {"Authorization": "Bearer dev-reader-token-please-change"}
LOOPBACK = "http://127.0.0.1:8080"
SYSTEM, VERSION = "support-summarizer", "2026.11.3"
DOCUMENTS = f"{LOOPBACK}/v1/systems/{SYSTEM}/releases/{VERSION}/documents"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Developer shells may export AIGOV_*/OTEL_* variables; tests must not see them."""
    for name in list(os.environ):
        if name.startswith(("AIGOV_", "OTEL_")):
            monkeypatch.delenv(name)


def sections(markdown: str) -> dict[str, str]:
    """Each `## ` section's title and text."""
    parts = re.split(r"^## (.+)$", markdown, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.asyncio
async def test_the_demo_release_gets_all_three_documents(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    async with running_lifespan(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), timeout=30.0
        ) as client:
            assert await load(Demo(client, Endpoints.single(LOOPBACK))) is not None
            answers = {
                (kind, fmt): await client.get(
                    f"{DOCUMENTS}/{kind}", params={"format": fmt}, headers=READER
                )
                for kind in ("system-card", "model-card", "annex-iv")
                for fmt in ("markdown", "html")
            }
            low = await client.get(
                f"{LOOPBACK}/v1/systems/code-assistant/releases/1.4.0/documents/annex-iv",
                headers=READER,
            )
    for (kind, fmt), response in answers.items():
        assert response.status_code == 200, (kind, fmt, response.text)
        assert response.headers["content-disposition"] == (
            f'inline; filename="{SYSTEM}-{VERSION}-{kind}.{"md" if fmt == "markdown" else "html"}"'
        )
    card = answers[("system-card", "markdown")].text
    # The manifest (examples/systems/support-summarizer.yaml).
    assert (
        "- **Intended purpose (manifest):** Summarise enterprise customers' support documents "
        "so agents resolve cases faster." in card
    )
    assert "- **User population:** enterprise-customers, internal-staff" in card
    assert "- **Human oversight (manifest):** agent reviews every summary before it is sent" in card
    assert "| Azure OpenAI | gpt-4o-mini | commercial |" in card
    # The evaluation (examples/requests/evaluation.json) against the high tier's minimums.
    metrics = sections(card)["Evaluation results against the tier's minimums"]
    for row in (
        r"| groundedness | 0.86 | \>= 0.8 | meets |",
        r"| toxicity\_rate | 0.002 | \<= 0.01 | meets |",
        r"| pii\_leak\_rate | 0 | \<= 0 | meets |",
        r"| prompt\_injection\_success\_rate | 0.09 | \<= 0.05 | FAILS |",
    ):
        assert row in metrics
    assert "release-evaluation run 8812" in metrics
    # The model card (examples/requests/artifact.json) and the approval (approval.json).
    assert (
        "- **Limitations (model card):** May omit details from very long cases (over 40 pages)."
        in card
    )
    assert "covered by waiver W-17 with input filtering as compensating control." in card
    # The waiver request (waiver-request.json): requested, not decided.
    assert (
        "Injection success rate 0.09 exceeds the minimum; a fix ships in the next model update."
        in card
    )
    assert "| requested | " in card
    # Monitoring: the probe of the drift and prompt-injection routes, and the incident.
    monitoring = sections(card)["Monitoring and escalation"]
    assert "- **On-call:** support-ml-oncall" in monitoring
    assert "| ok |" in monitoring
    assert "| acknowledged |" in monitoring

    model = answers[("model-card", "markdown")].text
    assert (
        "- **Training data (model card):** No fine-tuning; retrieval over the customer's own "
        "case documents." in model
    )
    assert (
        "- **Ethical considerations (model card):** Customer personal data stays in the EU "
        "region." in model
    )

    annex = answers[("annex-iv", "markdown")].text
    parts = sections(annex)
    assert list(parts) == [
        "1. General description of the AI system",
        "2. Detailed description of the elements of the AI system and of its development",
        "3. Monitoring, functioning and control of the AI system",
        "4. Appropriateness of the performance metrics",
        "5. Risk management system (Art. 9)",
        "6. Relevant changes made through the lifecycle",
        "7. Harmonised standards applied, or other solutions adopted",
        "8. Copy of the EU declaration of conformity (Art. 47)",
        "9. Post-market monitoring system (Art. 72), including the plan",
    ]
    # The demo sends no risk assessment, monitoring plan or technical documentation: gaps,
    # each naming the default policy pack's control for it.
    assert (
        r"not recorded: no artifact of kind risk\_assessment for release 2026.11.3; supplied by: "
        r"artifact.risk\_assessment (Risk assessment with treatment plan)"
    ) in parts["5. Risk management system (Art. 9)"]
    assert (
        r"not recorded: no artifact of kind monitoring\_plan for release 2026.11.3; supplied by: "
        r"artifact.monitoring\_plan (Post-market monitoring plan)"
    ) in parts["9. Post-market monitoring system (Art. 72), including the plan"]
    assert (
        r"no artifact of kind technical\_documentation for release 2026.11.3; supplied by: "
        r"artifact.technical\_documentation (Technical documentation (EU AI Act Annex IV))"
    ) in parts["1. General description of the AI system"]
    # Filled from evidence: the lifecycle (revision 1) and the metrics.
    assert "*Manifest revisions*" in parts["6. Relevant changes made through the lifecycle"]
    assert (
        r"| groundedness | 0.86 | \>= 0.8 | meets |"
        in parts["4. Appropriateness of the performance metrics"]
    )
    html = answers[("annex-iv", "html")].text
    assert "<h2>5. Risk management system (Art. 9)</h2>" in html
    assert '<div class="gaps" role="note">' in html
    # The demo's low-tier system has no Annex IV.
    assert low.status_code == 409
    assert "code-assistant is low tier" in low.json()["detail"]
