"""What a notification says, independent of where it goes (rendered per integration later)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

MessageKind = Literal["alerts", "incident", "escalation", "breach", "probe"]
Action = Literal["trigger", "acknowledge", "resolve"]


class AlertView(BaseModel):
    """One alert as a receiver sees it."""

    fingerprint: str
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    summary: str
    starts_at: datetime
    ends_at: datetime | None = None
    source_url: str | None = None


class Recipient(BaseModel):
    """Who the system belongs to (fills `{owner}`, `{team}`, `{oncall}`, `{system}`)."""

    system: str
    owner: str | None = None
    team: str | None = None
    oncall: str | None = None
    tier: str | None = None

    def placeholders(self) -> dict[str, str]:
        """Values for receiver templates; unknown ones render as `unknown`."""
        return {
            "system": self.system,
            "owner": self.owner or "unknown",
            "team": self.team or "unknown",
            "oncall": self.oncall or "unknown",
            "tier": self.tier or "unknown",
        }


class Message(BaseModel):
    """A notification's content: a group of alerts, or an incident step."""

    kind: MessageKind
    action: Action
    """`trigger` while something fires, `acknowledge` / `resolve` as it progresses."""
    title: str
    text: str
    recipient: Recipient
    dedup_key: str
    """Stable across re-notifications of the same group or incident (PagerDuty `dedup_key`)."""
    severity: str = "warning"
    signal: str | None = None
    route: str
    group_key: str | None = None
    group_labels: dict[str, str] = Field(default_factory=dict)
    common_labels: dict[str, str] = Field(default_factory=dict)
    alerts: list[AlertView] = Field(default_factory=list)
    incident_id: str | None = None
    dashboard_url: str
    probe: bool = False
    """A synthetic monitoring-coverage probe: no action needed."""

    @property
    def status(self) -> Literal["firing", "resolved"]:
        """Alertmanager's group status: resolved only once every alert is."""
        return "resolved" if self.action == "resolve" else "firing"
