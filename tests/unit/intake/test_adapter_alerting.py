"""Alertmanager and Grafana notifications mapped to alert events (pure mapping, no I/O)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigov_events.catalog import AlertRaised, AlertResolved, AlertSeverity
from aigov_intake.adapters import PayloadRejected, alerting, attribution_candidates
from aigov_intake.adapters.alerting import (
    ALERTMANAGER_SOURCE,
    GRAFANA_SOURCE,
    alert_severity,
    alertmanager_fingerprint,
    map_alertmanager,
    map_grafana,
    named_systems,
    parse_alertmanager,
    parse_grafana,
)

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    """A hand-written payload from tests/unit/intake/fixtures."""
    return json.loads((FIXTURES / name).read_text())


class TestAlertmanagerMapping:
    def test_each_alert_becomes_its_own_event_with_the_mapped_fields(self) -> None:
        outcome = map_alertmanager(
            parse_alertmanager(fixture("alertmanager_mixed_group.json")), system_id="loan-scorer"
        )
        raised, resolved = (draft.payload for draft in outcome.drafts)
        assert isinstance(raised, AlertRaised)
        assert isinstance(resolved, AlertResolved)
        assert raised.system_id == "loan-scorer"
        assert raised.fingerprint == "5c1f0e2d9a7b3c64"
        assert raised.alert_id == "5c1f0e2d9a7b3c64-20260302T061530.123456Z"
        assert raised.signal == "drift"
        assert raised.severity is AlertSeverity.CRITICAL
        assert raised.version == "3.2.0"
        assert raised.value == 0.42
        assert raised.threshold == 0.25
        assert raised.summary == "Score distribution drifted for self-employed applicants"
        assert raised.labels["segment"] == "self-employed"
        assert raised.source_url is not None
        assert raised.source_url.startswith("https://prometheus")
        assert raised.ends_at is None  # Go's zero time means "no end yet"
        assert resolved.severity is AlertSeverity.CRITICAL  # "page"
        assert resolved.summary == "Score distribution drifted for salaried applicants"
        assert resolved.source_url is None  # "not a url" is not kept
        assert resolved.ends_at == datetime(2026, 3, 2, 6, 40, 0, 500000, tzinfo=UTC)

    def test_event_time_is_the_start_when_firing_and_the_end_when_resolved(self) -> None:
        outcome = map_alertmanager(
            parse_alertmanager(fixture("alertmanager_mixed_group.json")), system_id="loan-scorer"
        )
        raised, resolved = outcome.drafts
        assert raised.time == raised.payload.starts_at  # type: ignore[attr-defined]
        assert resolved.time == resolved.payload.ends_at  # type: ignore[attr-defined]
        assert {d.source for d in outcome.drafts} == {ALERTMANAGER_SOURCE}

    def test_nanosecond_timestamps_with_offsets_are_kept_to_the_microsecond(self) -> None:
        notification = parse_alertmanager(fixture("alertmanager_mixed_group.json"))
        starts_at = notification.alerts[0].starts_at
        assert starts_at.utcoffset() is not None
        assert starts_at.astimezone(UTC) == datetime(2026, 3, 2, 6, 15, 30, 123456, tzinfo=UTC)

    def test_missing_status_and_fingerprint_are_taken_from_the_group_and_the_labels(self) -> None:
        notification = parse_alertmanager(
            fixture("alertmanager_relay_without_status_or_fingerprint.json")
        )
        [draft] = map_alertmanager(notification, system_id="chat-assistant").drafts
        payload = draft.payload
        assert isinstance(payload, AlertResolved)  # the group is resolved
        labels = notification.alerts[0].labels
        assert payload.fingerprint == alertmanager_fingerprint(labels)
        assert payload.signal == "latency_high"
        assert payload.severity is AlertSeverity.WARNING  # "Warning", case-insensitive
        assert payload.summary == "LatencyHigh"

    def test_redelivery_gives_the_same_ids_and_a_new_state_a_new_id(self) -> None:
        body = fixture("alertmanager_mixed_group.json")
        first = map_alertmanager(parse_alertmanager(body), system_id="loan-scorer")
        again = map_alertmanager(parse_alertmanager(copy.deepcopy(body)), system_id="loan-scorer")
        assert [d.event_id for d in first.drafts] == [d.event_id for d in again.drafts]

        body["alerts"][0]["status"] = "resolved"
        body["alerts"][0]["endsAt"] = "2026-03-02T09:00:00Z"
        resolved = map_alertmanager(parse_alertmanager(body), system_id="loan-scorer")
        assert resolved.drafts[0].event_id != first.drafts[0].event_id
        # Raised and resolved share the alert id: one firing of the series.
        assert resolved.drafts[0].payload.alert_id == first.drafts[0].payload.alert_id  # type: ignore[attr-defined]

    def test_a_repeat_notification_with_a_moved_end_is_the_same_event(self) -> None:
        body = fixture("alertmanager_mixed_group.json")
        first = map_alertmanager(parse_alertmanager(body), system_id="loan-scorer")
        body["alerts"][0]["endsAt"] = "2026-03-02T07:30:00Z"
        repeat = map_alertmanager(parse_alertmanager(body), system_id="loan-scorer")
        assert repeat.drafts[0].event_id == first.drafts[0].event_id

    def test_events_of_a_payload_repeating_an_alert_are_published_once(self) -> None:
        body = fixture("alertmanager_mixed_group.json")
        body["alerts"].append(copy.deepcopy(body["alerts"][0]))
        outcome = map_alertmanager(parse_alertmanager(body), system_id="loan-scorer")
        assert len(outcome.drafts) == 3
        assert len(outcome.events(actor="alertmanager")) == 2

    def test_truncated_alerts_are_reported_as_ignored(self) -> None:
        body = fixture("alertmanager_mixed_group.json")
        body["truncatedAlerts"] = 4
        outcome = map_alertmanager(parse_alertmanager(body), system_id="loan-scorer")
        [note] = outcome.ignored
        assert note.ref == "truncatedAlerts"
        assert "4 alert(s)" in note.reason


class TestAlertmanagerRejections:
    def test_missing_group_status_names_the_field(self) -> None:
        body = fixture("alertmanager_mixed_group.json")
        del body["status"]
        with pytest.raises(PayloadRejected) as caught:
            parse_alertmanager(body)
        assert caught.value.errors[0]["loc"] == ["body", "status"]

    def test_resolved_alert_without_end_is_refused_at_its_path(self) -> None:
        body = fixture("alertmanager_mixed_group.json")
        body["alerts"][1]["endsAt"] = "0001-01-01T00:00:00Z"
        with pytest.raises(PayloadRejected) as caught:
            map_alertmanager(parse_alertmanager(body), system_id="loan-scorer")
        assert caught.value.errors[0]["loc"] == ["body", "alerts", 1, "endsAt"]

    def test_naive_timestamps_are_refused(self) -> None:
        body = fixture("alertmanager_mixed_group.json")
        body["alerts"][0]["startsAt"] = "2026-03-02T07:15:30"
        with pytest.raises(PayloadRejected) as caught:
            parse_alertmanager(body)
        assert caught.value.errors[0]["loc"] == ["body", "alerts", 0, "startsAt"]
        assert "offset" in caught.value.errors[0]["msg"]

    def test_an_empty_group_is_refused(self) -> None:
        body = fixture("alertmanager_mixed_group.json")
        body["alerts"] = []
        with pytest.raises(PayloadRejected) as caught:
            parse_alertmanager(body)
        assert caught.value.errors[0]["loc"] == ["body", "alerts"]

    def test_a_bad_release_label_is_the_senders_mistake_located_at_the_alert(self) -> None:
        body = fixture("alertmanager_mixed_group.json")
        body["alerts"][0]["labels"]["ai_release"] = "not a version"
        with pytest.raises(PayloadRejected) as caught:
            map_alertmanager(parse_alertmanager(body), system_id="loan-scorer")
        error = caught.value.errors[0]
        assert error["loc"] == ["body", "alerts", 0]
        assert "version" in error["msg"]


class TestAttribution:
    def test_every_alert_names_the_system(self) -> None:
        notification = parse_alertmanager(fixture("alertmanager_mixed_group.json"))
        assert named_systems(notification) == ["loan-scorer", "loan-scorer"]

    def test_common_labels_name_it_for_alerts_without_their_own_label(self) -> None:
        body = fixture("alertmanager_mixed_group.json")
        del body["alerts"][1]["labels"]["ai_system"]
        assert named_systems(parse_alertmanager(body)) == ["loan-scorer", "loan-scorer"]

    def test_a_partly_labelled_group_needs_the_query_parameter(self) -> None:
        named = named_systems(parse_alertmanager(fixture("alertmanager_partially_labelled.json")))
        assert named == ["chat-assistant", None]
        with pytest.raises(PayloadRejected, match="1 of 2 alerts carry no ai_system") as caught:
            attribution_candidates(named, None, item="alert")
        assert [e["loc"] for e in caught.value.errors] == [
            ["body", "alerts", 1, "labels", "ai_system"]
        ]
        assert attribution_candidates(named, "chat-assistant", item="alert") == [
            "chat-assistant",
            None,
            "chat-assistant",
        ]

    def test_an_unlabelled_group_leaves_the_choice_to_the_query_parameter(self) -> None:
        assert attribution_candidates([None, None], "x", item="alert") == [None, None]


class TestSeverityAndFingerprint:
    @pytest.mark.parametrize(
        ("label", "severity"),
        [
            ("critical", AlertSeverity.CRITICAL),
            ("P1", AlertSeverity.CRITICAL),
            ("major", AlertSeverity.HIGH),
            ("severe", AlertSeverity.HIGH),
            ("warning", AlertSeverity.WARNING),
            ("info", AlertSeverity.INFO),
            ("none", AlertSeverity.INFO),
            ("unheard-of", AlertSeverity.WARNING),
            (None, AlertSeverity.WARNING),
        ],
    )
    def test_severity_words(self, label: str | None, severity: AlertSeverity) -> None:
        assert alert_severity(label) is severity

    def test_fingerprint_matches_alertmanager(self) -> None:
        # Computed by Alertmanager itself for this label set (its exec notifier's test data).
        assert alertmanager_fingerprint({"Message": "message"}) == "4ea129fd903f0e45"

    @given(st.dictionaries(st.text(min_size=1), st.text(), max_size=8))
    def test_fingerprint_depends_on_the_label_set_not_its_order(
        self, labels: dict[str, str]
    ) -> None:
        reordered = dict(reversed(list(labels.items())))
        fingerprint = alertmanager_fingerprint(labels)
        assert fingerprint == alertmanager_fingerprint(reordered)
        assert len(fingerprint) == 16


class TestGrafana:
    def test_values_annotations_and_panel_url(self) -> None:
        notification = parse_grafana(fixture("grafana_firing_with_values.json"))
        outcome = map_grafana(notification, system_id="chat-assistant")
        first, second = (d.payload for d in outcome.drafts)
        assert isinstance(first, AlertRaised)
        assert first.value == 0.071  # the ref named by value_ref, not the condition C
        assert first.severity is AlertSeverity.HIGH
        assert first.signal == "safety"
        assert first.source_url == "https://grafana.example.org/d/llm?viewPanel=2"
        assert second.value == 12.5  # type: ignore[attr-defined]  # the only value
        assert second.signal == "refusal_rate"  # type: ignore[attr-defined]
        assert {d.source for d in outcome.drafts} == {GRAFANA_SOURCE}
        assert outcome.ignored[0].ref == "truncatedAlerts"

    def test_the_organisation_is_part_of_the_event_identity(self) -> None:
        body = fixture("grafana_firing_with_values.json")
        org3 = map_grafana(parse_grafana(body), system_id="chat-assistant")
        body["orgId"] = 4
        org4 = map_grafana(parse_grafana(body), system_id="chat-assistant")
        assert org3.drafts[0].event_id != org4.drafts[0].event_id

    def test_legacy_format_is_refused_with_advice(self) -> None:
        with pytest.raises(PayloadRejected, match="unified alerting") as caught:
            parse_grafana(fixture("grafana_legacy_alert.json"))
        assert caught.value.errors[0]["type"] == "legacy_grafana_alert"

    def test_contact_point_test_is_recognised(self) -> None:
        assert alerting.is_grafana_test(parse_grafana(fixture("grafana_contact_point_test.json")))
        assert not alerting.is_grafana_test(
            parse_grafana(fixture("grafana_firing_with_values.json"))
        )
