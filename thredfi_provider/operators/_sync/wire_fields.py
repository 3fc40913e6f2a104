"""Source field names as the wire body names them: a change the sync state saw, ready to send.

The state keeps digests of the *source* record's fields (so an unchanged record is known before
any lookup), while a PUT/PATCH and the comparison speak the wire body's names. Most are the same;
the rest are the references a source may give by its own ids and the amount's published name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Source fields that steer the sync (a void, an archive) or only check it: a change to one needs
# the record's state, so it never goes straight to a stored id.
LOCAL = frozenset({"cancelled", "archived", "currency", "business_id"})
RENAMED = {"amount_cents": "total_amount_cents"}


def wire_names(changed: Iterable[str], payload: Mapping[str, Any]) -> list[str]:
    """The body fields behind ``changed`` source fields, in the body's order."""
    wanted: set[str] = set()
    for name in changed:
        if name.endswith("_external_id"):  # customer_external_id -> customer_id
            name = name.removesuffix("_external_id") + "_id"
        elif name not in payload:
            name = RENAMED.get(name, name)
        if name in payload:
            wanted.add(name)
    return [name for name in payload if name in wanted]


def asks_for_state(record: Any) -> bool:
    """The source asks for a void or an archive: what is held must be known before sending."""
    return bool(getattr(record, "cancelled", False) or getattr(record, "archived", False))
