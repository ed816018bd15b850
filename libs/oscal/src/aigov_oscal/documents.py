"""Response models of the OSCAL endpoints: each document under its OSCAL root key.

The body is the OSCAL JSON itself; these models only name the root key and say what it
holds, so the OpenAPI documents describe the endpoints without copying OSCAL's schemas.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

MEDIA_TYPE: Final = "application/json"
"""What the endpoints serve (OSCAL's own `application/oscal+json` is not registered yet)."""

_SPEC: Final = "NIST OSCAL 1.1.3 JSON (validate with compliance-trestle's `trestle.oscal` models)"


class OscalDocument(BaseModel):
    """Base of the document models: the root key only, by its OSCAL (hyphenated) name."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")


class CatalogDocument(OscalDocument):
    """An OSCAL catalog: the control library of the active policy pack."""

    catalog: dict[str, Any] = Field(
        description=f"The catalog ({_SPEC}): one group per control family, one control per "
        "library control, with its statement, evidence parts and framework-mapping props."
    )


class ProfileDocument(OscalDocument):
    """An OSCAL profile: the controls one tier requires, importing the catalog by href."""

    profile: dict[str, Any] = Field(
        description=f"The profile ({_SPEC}): `imports[0].href` is the catalog, "
        "`include-controls` the tier's controls."
    )


class AssessmentResultsDocument(OscalDocument):
    """OSCAL assessment results: one release's control status."""

    assessment_results: dict[str, Any] = Field(
        alias="assessment-results",
        description=f"The assessment results ({_SPEC}): one result, a finding per required "
        "control (`target.status.state`), an observation per evidence record.",
    )


class PoamDocument(OscalDocument):
    """An OSCAL plan of action and milestones: waivers as POA&M items and risks."""

    plan_of_action_and_milestones: dict[str, Any] = Field(
        alias="plan-of-action-and-milestones",
        description=f"The POA&M ({_SPEC}): one POA&M item and one risk per waiver.",
    )
