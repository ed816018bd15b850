"""Real Alertmanager and Grafana payloads (tests/fixtures/corpus/alertmanager) through the adapters.

Every published example must map to the events listed here; every `NEGATIVE_*` one must be
refused with a clear error. A corpus file missing from the table fails the suite, so a new
example is classified on purpose.
"""

from __future__ import annotations

from typing import Any, Final

import pytest
from starlette.requests import Request

from aigov_intake.adapters import (
    Outcome,
    PayloadRejected,
    alerting,
    attribution_candidates,
    ignored,
)
from aigov_intake.attribution import resolve_system
from aigov_intake.bodies import parse_json
from aigov_runtime.errors import ProblemError
from tests.fixtures import CORPUS

FOLDER: Final = CORPUS / "alertmanager"

RAISED, RESOLVED = "io.aigov.alert.raised.v1", "io.aigov.alert.resolved.v1"

#: file -> (adapter, expected events as (type, fingerprint, signal, severity), or "ignored").
EXPECTED: Final[dict[str, tuple[str, list[tuple[str, str, str, str]] | str]]] = {
    "alertmonitor_captured_firing.json": (
        "alertmanager",
        [
            # No fingerprints in this capture: computed from the labels, as Alertmanager does.
            (RAISED, "4a110cc8dbe76532", "icmp_ping_failed", "high"),
            (RAISED, "e92130f1a362a046", "icmp_ping_failed", "high"),
            (RAISED, "1e1c2fe4c8293484", "icmp_ping_failed", "high"),
        ],
    ),
    "am_exec_testdata_success_firing.json": (
        "alertmanager",
        [(RAISED, "4ea129fd903f0e45", "other", "warning")],
    ),
    "msteams_prom_post_request.json": (
        "alertmanager",
        [(RAISED, "b29784719d6a11e6", "high_memory_load", "warning")],
    ),
    "prom2teams_all_ok_resolved.json": (
        "alertmanager",
        [(RESOLVED, "dd19ae3d4e06ac55", "disk_space", "high")],
    ),
    "zulip_alertmanager_alert_two_firing.json": (
        "alertmanager",
        [
            (RAISED, "a1bc48475b20e73d", "high_cpu_temperature", "critical"),
            (RAISED, "c2ea85182f28cbd9", "high_cpu_temperature", "critical"),
        ],
    ),
    "grafana_unified_docs_webhook_payload.json": (
        "grafana",
        [
            (RAISED, "c6eadffa33fcdf37", "high_memory_usage", "warning"),
            (RAISED, "bc97ff14869b13e3", "high_cpu_usage", "warning"),
        ],
    ),
    "zulip_grafana_test_notification_resolved.json": ("grafana", "ignored"),
}
#: NEGATIVE file -> (adapter, the JSON path the refusal must name).
NEGATIVE: Final[dict[str, tuple[str, list[str | int]]]] = {
    "NEGATIVE_prom2teams_without_mandatory_field.json": ("alertmanager", ["body", "status"]),
}


def corpus_file(name: str) -> bytes:
    """The raw bytes of a corpus file; the corpus is part of the test contract, never skipped."""
    assert FOLDER.is_dir(), f"the vendored payload corpus is missing: expected {FOLDER}"
    return (FOLDER / name).read_bytes()


def request(query: str = "") -> Request:
    """A bare request carrying only a query string (what attribution reads)."""
    return Request({"type": "http", "method": "POST", "path": "/", "query_string": query.encode()})


def through_adapter(adapter: str, raw: bytes, query: str) -> Outcome:
    """What the webhook route does with a body, minus authentication and publishing."""
    body: Any = parse_json(raw)
    notification: alerting.AlertmanagerNotification
    if adapter == "grafana":
        grafana = alerting.parse_grafana(body)
        if alerting.is_grafana_test(grafana):
            return ignored("TestAlert", "Grafana contact point test notification")
        notification = grafana
    else:
        notification = alerting.parse_alertmanager(body)
    req = request(query)
    candidates = attribution_candidates(
        alerting.named_systems(notification), req.query_params.get("system"), item="alert"
    )
    system_id = resolve_system(req, candidates, looked_in=alerting.LOOKED_IN)
    if isinstance(notification, alerting.GrafanaNotification):
        return alerting.map_grafana(notification, system_id=system_id)
    return alerting.map_alertmanager(notification, system_id=system_id)


def test_every_corpus_file_is_classified() -> None:
    assert FOLDER.is_dir(), f"the vendored payload corpus is missing: expected {FOLDER}"
    assert {p.name for p in FOLDER.glob("*.json")} == set(EXPECTED) | set(NEGATIVE)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_published_example_maps_to_the_expected_events(name: str) -> None:
    adapter, expected = EXPECTED[name]
    outcome = through_adapter(adapter, corpus_file(name), "system=support-summarizer")
    if expected == "ignored":
        assert outcome.drafts == []
        assert outcome.ignored
        return
    got = [
        (d.payload.event_type, d.payload.fingerprint, d.payload.signal, d.payload.severity.value)  # type: ignore[attr-defined]
        for d in outcome.drafts
    ]
    assert got == expected
    assert {d.payload.system_id for d in outcome.drafts} == {"support-summarizer"}
    assert len({d.event_id for d in outcome.drafts}) == len(outcome.drafts)


@pytest.mark.parametrize("name", sorted(n for n, (_, e) in EXPECTED.items() if e != "ignored"))
def test_published_example_without_a_system_is_refused(name: str) -> None:
    adapter, _ = EXPECTED[name]
    with pytest.raises(ProblemError) as caught:
        through_adapter(adapter, corpus_file(name), "")
    assert caught.value.status_code == 422
    assert "ai_system" in str(caught.value.detail)


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_negative_example_is_refused_naming_the_field(name: str) -> None:
    adapter, loc = NEGATIVE[name]
    with pytest.raises(PayloadRejected) as caught:
        through_adapter(adapter, corpus_file(name), "system=support-summarizer")
    assert loc in [error["loc"] for error in caught.value.errors]
