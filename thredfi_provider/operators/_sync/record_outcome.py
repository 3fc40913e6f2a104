"""How one record ends: exactly one state, and for a conflict the field and why.

- ``created``: Thredfi did not hold it; now it does;
- ``updated``: Thredfi held an older version; the change was applied (PUT/PATCH, an archive);
- ``unchanged``: Thredfi already holds exactly this;
- ``voided``: the source cancelled it and Thredfi voided it;
- ``removed``: mirror mode: it left the source snapshot and Thredfi voided or archived it;
- ``unverified``: Thredfi holds it, but a field the source sends is one Thredfi's read does not
  return (a payment's amount in the published list shape), so it cannot be proven equal; never
  called unchanged (with ``state_path``, the stored checksum proves it instead);
- ``conflict``: the source changed something Thredfi cannot change (no published endpoint,
  or a state that forbids it): reported with the field and the reason, never silently kept.

A record that fails ends as the client's error instead (:mod:`.batch_runner`), and
:mod:`thredfi_provider.hooks.task_state` turns the batch's tally into a task state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from thredfi_provider.client.compare import Differences

Record = dict[str, Any]
State = Literal["created", "updated", "unchanged", "voided", "removed", "unverified", "conflict"]


@dataclass(frozen=True)
class Outcome:
    """How one record ended; a conflict names its field and why it cannot change."""

    state: State
    record_id: str | None = None
    changed: tuple[str, ...] = ()
    field: str | None = None
    reason: str | None = None
    held: Any = None
    sent: Any = None


def conflict(held: Record, diff: Differences, reason: str) -> Outcome:
    """A conflict on the first changed field, naming every changed field in the reason; Thredfi's
    value is ``None`` where its read does not return the field."""
    from thredfi_provider.client.compare import is_unknown

    name, (theirs, ours) = next(iter(diff.items()))
    theirs = None if is_unknown(theirs) else theirs
    others = [f for f in diff if f != name]
    if others:
        reason += f" (also changed: {', '.join(others)})"
    return Outcome("conflict", str(held.get("id")), field=name, reason=reason, held=theirs, sent=ours)


def updated(held: Record, diff: Differences) -> Outcome:
    return Outcome("updated", str(held.get("id")), changed=tuple(diff))
