"""`aigov incidents ...` against the real intake.

Incidents are reported straight to intake's `POST /v1/incidents` (the CLI has no report
command: reports come from people's tools and the monitoring router), then read and moved
through their lifecycle with the CLI. `list` and `show` need intake's `GET /v1/incidents`.
"""

from __future__ import annotations

import json

import httpx

from aigov_events.topics import SIGNALS
from tests.unit.cli.conftest import EXAMPLES, Aigov, Intake, new_system
from tests.unit.cli.servers import PUBLISHER, READER


def report(intake: Intake, system: str, **changes: object) -> str:
    """Report the public example incident for `system`; return its id."""
    body = {**json.loads((EXAMPLES / "requests" / "incident.json").read_text()), "system": system}
    body.update(changes)
    answer = httpx.post(
        f"{intake.url}/v1/incidents", json=body, headers={"Authorization": f"Bearer {PUBLISHER}"}
    )
    assert answer.status_code == 202, answer.text
    incident_id: str = answer.json()["incident_id"]
    return incident_id


class TestLifecycle:
    def test_ack_contain_resolve(self, aigov: Aigov, intake: Intake) -> None:
        system = new_system()
        incident = report(intake, system)
        acked = aigov("incidents", "ack", incident, "--note", "Looking.")
        assert acked.exit_code == 0, acked.output
        assert acked.stdout.startswith(f"incident {incident} acknowledged for {system} (event ")
        contained = aigov("incidents", "contain", incident, "--note", "Retrieval off.", "--json")
        assert contained.exit_code == 0, contained.output
        assert json.loads(contained.stdout)["status"] == "contained"
        resolved = aigov(
            "incidents", "resolve", incident, "--note", "Scoped retrieval.", "--root-cause", "Bug."
        )
        assert resolved.exit_code == 0, resolved.output
        events = intake.events(SIGNALS, system=system, count=4)
        steps = [e for e in events if e.data.get("incident_id") == incident]
        assert [e.event_type for e in steps] == [
            "io.aigov.incident.reported.v1",
            "io.aigov.incident.acknowledged.v1",
            "io.aigov.incident.contained.v1",
            "io.aigov.incident.resolved.v1",
        ]
        assert steps[1].data["note"] == "Looking."
        assert (steps[3].data["resolution"], steps[3].data["root_cause"]) == (
            "Scoped retrieval.",
            "Bug.",
        )

    def test_ack_without_a_note_and_a_step_out_of_order(self, aigov: Aigov, intake: Intake) -> None:
        incident = report(intake, new_system())
        assert aigov("incidents", "resolve", incident, "--note", "Fixed.").exit_code == 0
        late = aigov("incidents", "ack", incident)
        assert late.exit_code == 2
        assert ": 409 " in late.stderr

    def test_contain_needs_a_note_and_unknown_incidents(self, aigov: Aigov) -> None:
        missing = aigov("incidents", "contain", "INC-NOSUCH0000")
        assert missing.exit_code == 2
        assert "Missing option '--note'" in missing.stderr
        unknown = aigov("incidents", "ack", "INC-NOSUCH0000")
        assert unknown.exit_code == 2
        assert "404 no incident 'INC-NOSUCH0000'" in unknown.stderr


class TestReads:
    def test_list_and_show(self, aigov: Aigov, intake: Intake) -> None:
        system = new_system()
        first = report(intake, system, severity="low", summary="Slow answers")
        second = report(intake, system, serious=True)
        assert aigov("incidents", "ack", second).exit_code == 0
        listed = aigov("incidents", "list", "--system", system, token=READER)
        assert listed.exit_code == 0, listed.output
        header, *rows = listed.stdout.splitlines()
        assert header.split() == [
            "INCIDENT", "SYSTEM", "STATUS", "SEVERITY", "SERIOUS", "CATEGORY", "OPENED", "BY",
            "REPORTED", "AT", "SUMMARY",
        ]  # fmt: skip
        assert [r.split()[:5] for r in rows] == [
            [second, system, "acknowledged", "high", "yes"],
            [first, system, "reported", "low", "no"],
        ]
        assert rows[1].endswith("Slow answers")
        only = aigov(
            "incidents", "list", "--system", system, "--status", "reported", "-o", "json",
            token=READER,
        )  # fmt: skip
        assert only.exit_code == 0, only.output
        assert [i["incident_id"] for i in json.loads(only.stdout)["incidents"]] == [first]
        shown = aigov("incidents", "show", second, token=READER)
        assert shown.exit_code == 0, shown.output
        assert shown.stdout.splitlines()[0] == f"Incident {second} of {system}: acknowledged"
        assert "yes (EU AI Act Art. 3(49): report under Art. 73)" in shown.stdout

    def test_show_an_unknown_incident(self, aigov: Aigov) -> None:
        result = aigov("incidents", "show", "INC-NOSUCH0000", token=READER)
        assert result.exit_code == 2
        assert "404 " in result.stderr
        assert "Not found at this URL" not in result.stderr
