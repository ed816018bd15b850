"""A tier's requirements as an OSCAL profile: the catalog imported by href, that tier's controls.

The profile selects controls only; the tier's approvals (role and count) are metadata props.
Evaluation thresholds per tier are not OSCAL parameters (yet): see docs/oscal.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aigov_events.catalog.decisions import PolicyRef, RequiredApproval
from aigov_oscal.ids import oscal_uuid, token
from aigov_oscal.metadata import metadata, prop


def build_profile(
    *,
    tier: str,
    control_ids: Sequence[str],
    catalog_control_ids: Sequence[str],
    catalog_href: str,
    policy: PolicyRef,
    policy_version: str,
    approvals: Sequence[RequiredApproval] = (),
    last_modified: datetime,
) -> dict[str, Any]:
    """The `{"profile": ...}` document of `tier`: exactly `control_ids` from the catalog.

    A tier requiring nothing (prohibited: it never ships) imports the catalog with every
    control excluded, since an OSCAL selection cannot be empty.
    """
    unknown = sorted(set(control_ids) - set(catalog_control_ids))
    if unknown:
        raise ValueError(f"tier {tier} requires controls the catalog lacks: {unknown}")
    selection: dict[str, Any]
    if control_ids:
        selection = {"include-controls": [{"with-ids": [token(c) for c in control_ids]}]}
    else:
        selection = {
            "include-all": {},
            "exclude-controls": [{"with-ids": [token(c) for c in catalog_control_ids]}],
        }
    props = [
        prop("tier", tier),
        prop("policy-name", policy.name),
        prop("policy-version", policy.version),
        prop("policy-sha256", policy.sha256),
    ]
    props += [
        prop("required-approval", approval.role, cls=f"count-{approval.count}")
        for approval in approvals
    ]
    return {
        "profile": {
            "uuid": oscal_uuid("profile", policy.name, policy.sha256, tier),
            "metadata": metadata(
                f"aigov {tier}-tier requirements (policy pack {policy.name} {policy.version})",
                last_modified=last_modified,
                version=policy_version,
                props=props,
                remarks=(
                    f"The controls a system of tier {tier} must satisfy (or have waived) "
                    "before a release ships. Controls with an applicability condition are "
                    "required only of the systems it holds for."
                ),
            ),
            "imports": [{"href": catalog_href, **selection}],
            "merge": {"as-is": True},
        }
    }
