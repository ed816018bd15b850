"""High-tier alerts page PagerDuty (Events API v2) and post Block Kit messages to Slack."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integration.monitoring_router.conftest import RouterUnderTest
from tests.unit.monitoring_router.conftest import raised, registered, resolved, tier_assigned

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

STARTS = datetime(2026, 11, 20, 9, 31, tzinfo=UTC)


async def test_trigger_then_resolve_with_a_stable_dedup_key(router: RouterUnderTest) -> None:
    alert = raised("support-bot", signal="prompt_injection", severity="critical", starts_at=STARTS)
    await router.publish(
        registered("support-bot", team="support-ml"), tier_assigned("support-bot", "high"), alert
    )
    [trigger] = await router.receivers.wait_for("/pd")
    body = trigger.json()
    assert set(body) == {
        "routing_key",
        "dedup_key",
        "event_action",
        "payload",
        "links",
        "client",
        "client_url",
    }
    assert body["routing_key"] == "R0UTINGKEY0123456789"
    assert body["event_action"] == "trigger"
    assert body["payload"]["severity"] == "critical"
    assert body["payload"]["source"] == "aigov:support-bot"
    assert body["payload"]["component"] == "support-bot"
    assert body["payload"]["group"] == "support-ml"
    assert body["payload"]["class"] == "prompt_injection"
    assert body["payload"]["summary"].startswith("[critical] support-bot: prompt_injection")
    assert body["payload"]["custom_details"]["tier"] == "high"
    assert body["links"] == [
        {
            "href": "https://aigov.example.com/dashboard/systems/support-bot",
            "text": "aigov dashboard",
        }
    ]
    await router.publish(resolved(alert, ends_at=datetime(2026, 11, 20, 9, 45, tzinfo=UTC)))
    _, resolve = await router.receivers.wait_for("/pd", 2)
    assert resolve.json() == {
        "routing_key": "R0UTINGKEY0123456789",
        "dedup_key": body["dedup_key"],
        "event_action": "resolve",
    }


async def test_slack_block_kit_message(router: RouterUnderTest) -> None:
    await router.publish(
        registered("support-bot", team="support-ml"),
        tier_assigned("support-bot", "medium"),
        raised("support-bot", signal="bias", severity="warning", starts_at=STARTS),
    )
    [hit] = await router.receivers.wait_for("/slack")
    body = hit.json()
    assert body["channel"] == "#support-ml-alerts"
    assert body["text"].startswith("[warning] support-bot: bias")
    kinds = [block["type"] for block in body["blocks"]]
    assert kinds == ["header", "section", "section", "section", "actions", "context"]
    fields = [f["text"] for f in body["blocks"][2]["fields"]]
    assert fields == [
        "*System*\n<https://aigov.example.com/dashboard/systems/support-bot|support-bot>",
        "*Tier*\nmedium",
        "*Signal*\nbias",
        "*Severity*\nwarning",
    ]
    [button] = body["blocks"][4]["elements"]
    assert button["url"] == "https://aigov.example.com/dashboard/systems/support-bot"
    assert body["blocks"][3]["text"]["text"] == "• bias on support-bot"
