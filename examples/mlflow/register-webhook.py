"""Register aigov's MLflow webhook: model versions become evidence in aigov's ledger.

MLflow 3.3+ with a database-backed tracking server. Environment:

    MLFLOW_TRACKING_URI        the tracking server
    AIGOV_URL                  e.g. https://aigov.example.com
    AIGOV_MLFLOW_WEBHOOK_SECRET the secret intake was given (AIGOV_MLFLOW_WEBHOOK_SECRET there too)
    AIGOV_SYSTEM               optional: attribute every delivery to this AI system (one
                               webhook per system); otherwise tag model versions `ai_system`

Then tag versions with the release they belong to:
    mlflow.register_model(uri, "support-summarizer", tags={"ai_system": "support-summarizer",
                                                           "ai_release": "2026.11.3"})

For a local MLflow server, start it with MLFLOW_WEBHOOK_ALLOWED_SCHEMES=http,https and
MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true (it delivers only to https and public addresses
otherwise), and MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY so stored webhook secrets survive a
restart. See docs/integrations/mlflow.md.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlencode

from mlflow import MlflowClient

EVENTS = [
    # The one test_webhook is told to send below: intake acknowledges it without publishing.
    "registered_model.created",
    "model_version.created",
    "model_version_tag.set",
    "model_version_alias.created",
]


def main() -> int:
    """Create the webhook and send MLflow's test delivery through it."""
    base = os.environ["AIGOV_URL"].rstrip("/")
    secret = os.environ["AIGOV_MLFLOW_WEBHOOK_SECRET"]
    system = os.environ.get("AIGOV_SYSTEM")
    url = f"{base}/v1/webhooks/mlflow" + (f"?{urlencode({'system': system})}" if system else "")
    client = MlflowClient()
    webhook = client.create_webhook(
        name=f"aigov-{system}" if system else "aigov",
        url=url,
        events=EVENTS,
        secret=secret,
        description="Model versions into aigov's inventory and evidence ledger",
    )
    # Name the test event: without it MLflow sends its own example `model_version.created`
    # (a made-up model version), which intake would refuse (422, no AI system) or record.
    result = client.test_webhook(webhook.webhook_id, event="registered_model.created")
    print(f"webhook {webhook.webhook_id} -> {url}: test delivery {result}")  # noqa: T201
    return 0 if getattr(result, "success", False) else 1


if __name__ == "__main__":
    sys.exit(main())
