"""The public examples (`../shared/examples/`), shown in OpenAPI for the typed endpoints.

Copied verbatim: the unit tests check they still equal the files, which are the contract
("fields may be added, none renamed"). They are documentation only; nothing reads them
at run time.
"""

from __future__ import annotations

from typing import Any, Final

EVALUATION: Final[dict[str, Any]] = {
    "system": "support-summarizer",
    "version": "2026.11.3",
    "suite": "release-evaluation",
    "dataset": {
        "id": "support-eval-set",
        "version": "7",
        "uri": "s3://ml-evals/support/7/eval.parquet",
    },
    "metrics": [
        {"name": "groundedness", "value": 0.86, "higher_is_better": True},
        {"name": "toxicity_rate", "value": 0.002, "higher_is_better": False},
        {"name": "pii_leak_rate", "value": 0.0, "higher_is_better": False},
        {"name": "prompt_injection_success_rate", "value": 0.09, "higher_is_better": False},
    ],
    "raw_outputs_uri": "s3://ml-evals/support/7/outputs.jsonl",
    "run": {
        "id": "8812",
        "url": "https://ci.example.com/support-ml/runs/8812",
        "commit": "9f2c1e7",
    },
}

ARTIFACT: Final[dict[str, Any]] = {
    "system": "support-summarizer",
    "version": "2026.11.3",
    "kind": "model_card",
    "title": "Support case summarizer — model card",
    "uri": "https://docs.example.com/ml/support-summarizer/model-card/2026.11.3",
    "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
    "sections": {
        "intended_use": "Summaries for support agents; not shown to end customers unreviewed.",
        "limitations": "May omit details from very long cases (over 40 pages).",
        "evaluation": "See release-evaluation run 8812.",
        "ethical_considerations": "Customer personal data stays in the EU region.",
        "training_data": "No fine-tuning; retrieval over the customer's own case documents.",
    },
}

DEPLOYMENT: Final[dict[str, Any]] = {
    "system": "support-summarizer",
    "version": "2026.11.3",
    "environment": "production",
    "region": "EU",
    "status": "requested",
    "pipeline": {"id": "deploy-4410", "url": "https://ci.example.com/support-ml/deploys/4410"},
}

APPROVAL: Final[dict[str, Any]] = {
    "system": "support-summarizer",
    "version": "2026.11.3",
    "decision": "granted",
    "rationale": "Evaluation meets minimums except prompt injection, covered by waiver W-17 "
    "with input filtering as compensating control.",
    "evidence": ["release-evaluation run 8812", "model card 2026.11.3"],
}

WAIVER_REQUEST: Final[dict[str, Any]] = {
    "system": "support-summarizer",
    "version": "2026.11.3",
    "controls": ["evaluation.prompt_injection"],
    "justification": "Injection success rate 0.09 exceeds the minimum; a fix ships in the "
    "next model update.",
    "compensating_controls": [
        "input filtering for instruction-like patterns",
        "summaries reviewed by an agent before sending",
    ],
    "expires_at": "2026-12-26T00:00:00Z",
}

ALERT: Final[dict[str, Any]] = {
    "system": "support-summarizer",
    "signal": "drift",
    "severity": "warning",
    "summary": "Input length distribution drifted (PSI 0.31 over 24 h)",
    "labels": {"feature": "document_length", "detector": "psi"},
    "value": 0.31,
    "threshold": 0.2,
    "source_url": "https://monitoring.example.com/d/support-drift",
}

INCIDENT: Final[dict[str, Any]] = {
    "system": "support-summarizer",
    "severity": "high",
    "category": "privacy",
    "summary": "A summary included another customer's contact details",
    "reported_by": "support agent via in-app feedback",
    "serious": False,
    "occurred_at": "2026-11-20T09:42:00Z",
}

#: Manifests by file name, as YAML text.
SYSTEMS_YAML: Final[dict[str, str]] = {
    "code-assistant.yaml": """\
# Expected: tier low — internal productivity tool over non-sensitive data, no personal data, no autonomy.
apiVersion: aigov.io/v1
kind: AISystem
metadata:
  id: code-assistant
  name: Internal code review assistant
  owner: lee.wong@example.com
  team: developer-productivity
  oncall: devprod-oncall
spec:
  purpose: Suggest review comments on internal pull requests.
  useCase:
    category: developer-productivity
    annexIII: []
    prohibitedPractices: []
  users:
    population: [internal-staff]
    includesMinors: false
    public: false
  deployment:
    surfaces: [internal-tool]
    environments: [production]
    regions: [US]
  data:
    classes: [source-code]
    trainingSources: []
  model:
    type: llm
    architecture: open-weights model served in-house
    thirdParty:
      - vendor: self-hosted
        model: qwen2.5-coder-7b
        license: apache-2.0
  genai:
    generative: true
    promptTemplates:
      - id: review-comment
        sha256: 9c56cc51b374c3ba189210d5b6d4bf57790d351c96c47c02190ecf1e430635ab
    retrieval:
      corpora: []
    safetyFilters:
      policy: none
  agent:
    autonomous: false
    tools: []
  humanOversight: suggestions only; engineers decide
""",
    "resume-screener.yaml": """\
# Expected: tier high — EU AI Act Annex III area 4 (employment: recruitment and selection).
apiVersion: aigov.io/v1
kind: AISystem
metadata:
  id: resume-screener
  name: Candidate résumé ranking
  owner: sam.osei@example.com
  team: talent-platform
  oncall: talent-oncall
spec:
  purpose: Rank applicants' résumés against a job description for recruiters.
  useCase:
    category: recruitment
    annexIII: [employment]
    prohibitedPractices: []
  users:
    population: [recruiters, job-applicants]
    includesMinors: false
    public: true
  deployment:
    surfaces: [web-app]
    environments: [production]
    regions: [EU]
  data:
    classes: [personal-data]
    trainingSources:
      - id: historical-hiring-decisions
        version: "2025-q4"
    labelPolicy: hired-within-12-months
  model:
    type: ranking
    architecture: gradient-boosted trees over extracted features
    thirdParty: []
  genai:
    generative: false
  agent:
    autonomous: false
    tools: []
  humanOversight: recruiter makes every decision; ranking is advisory
""",
    "support-summarizer.yaml": """\
# Expected: tier high — customer-facing generative AI over customer documents and personal data, served in the EU.
apiVersion: aigov.io/v1
kind: AISystem
metadata:
  id: support-summarizer
  name: Support case summarizer
  owner: dana.kim@example.com
  team: support-ml
  oncall: support-ml-oncall
spec:
  purpose: Summarise enterprise customers' support documents so agents resolve cases faster.
  useCase:
    category: customer-support
    annexIII: []
    prohibitedPractices: []
  users:
    population: [enterprise-customers, internal-staff]
    includesMinors: false
    public: false
  deployment:
    surfaces: [web-app, public-api]
    environments: [production]
    regions: [EU, US]
  data:
    classes: [customer-content, personal-data]
    trainingSources: []
  model:
    type: llm
    architecture: hosted foundation model, no fine-tuning
    thirdParty:
      - vendor: Azure OpenAI
        model: gpt-4o-mini
        license: commercial
  genai:
    generative: true
    promptTemplates:
      - id: summarize-case
        sha256: 5d41402abc4b2a76b9719d911017c592a1f0e6c3b1e3f0d2a6a7b8c9d0e1f2a3
    retrieval:
      corpora:
        - id: customer-case-documents
          dataClasses: [customer-content, personal-data]
    safetyFilters:
      policy: content-safety-strict-v2
  agent:
    autonomous: false
    tools: []
  humanOversight: agent reviews every summary before it is sent
""",
}
