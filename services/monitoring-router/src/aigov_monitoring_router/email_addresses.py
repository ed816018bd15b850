"""Single e-mail addresses: what a recipient or sender of the router's mail may be.

Recipients are filled in from the system's manifest (`{owner}`, `{oncall}`), which the
system's owner writes. A value such as `victim@x, attacker@evil` or one with a CRLF and a
`Bcc:` line must not add recipients or headers, so every value must parse as exactly one
mailbox (an optional display name and one `local@domain`), with no control characters.
"""

from __future__ import annotations

import re
from email import policy
from email.headerregistry import Address, AddressHeader
from typing import Final

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_MAX_CHARS: Final = 320  # RFC 5321: 64 (local part) + 1 + 255 (domain)


class InvalidAddress(ValueError):
    """The value is not a single e-mail address."""


def single_address(value: str) -> Address:
    """The one mailbox `value` names; InvalidAddress for lists, groups, CRLF or junk."""
    shown = value if len(value) <= 80 else value[:77] + "..."
    problem = f"{shown!r} is not a single e-mail address"
    if _CONTROL.search(value) or len(value) > _MAX_CHARS + 200:
        raise InvalidAddress(f"{problem} (control characters or too long)")
    try:
        header = policy.default.header_factory("To", value)
    except Exception:  # the stdlib parser raises IndexError and others on junk
        raise InvalidAddress(problem) from None
    if not isinstance(header, AddressHeader):
        raise InvalidAddress(problem)
    groups, addresses = header.groups, header.addresses
    # Every parsed header has `defects` (typeshed declares it on BaseHeader only).
    defects = getattr(header, "defects", ())
    if defects or len(groups) != 1 or groups[0].display_name is not None or len(addresses) != 1:
        raise InvalidAddress(problem)
    address: Address = addresses[0]
    if not address.username or not address.domain or len(address.addr_spec) > _MAX_CHARS:
        raise InvalidAddress(problem)
    return address
