"""What a sensor waits for, as plain JSON-safe data, and one look at it.

The hook owns this status logic (as the dbt Cloud and HTTP providers' hooks do): the sensor's
poke and the trigger's poll both call :meth:`ThredfiHook.check_resource`, so "met / not yet /
failed" is decided in one place, and the trigger never imports the sensor. Only what is
JSON-safe lives in the query (the trigger serialises it); a callable condition is for poke
and reschedule modes only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from thredfi_provider._deprecations import moved_names, warn_deprecated
from thredfi_provider.client.resources import RESOURCES, old_spelling

if TYPE_CHECKING:
    from thredfi_provider.client.client import ThredfiClient

log = logging.getLogger(__name__)

# ``Outcome`` was also the name of a record's sync outcome; this one is a look (until 2.0, warning).
__getattr__ = moved_names(__name__, {"Outcome": "thredfi_provider.hooks.status:Look"})

MAX_RETURNED_IDS = 100

Condition = Mapping[str, Any] | Callable[[dict[str, Any]], bool] | None


def one_spelling(
    resource: str, *, caller: str, allowed: Sequence[str] = tuple(RESOURCES), strict: bool = True
) -> str:
    """The registry's name for ``resource``; an old spelling (``invoices``) warns until 2.0.

    The sensor and the reconcile operator both take ``resource``, and both take it this way.
    ``stacklevel`` points the warning at the DAG line that built the task. With ``strict=False``
    anything else is kept as given (a Jinja template, rendered and checked when the task runs).
    """
    if resource in allowed:
        return resource
    old = old_spelling(resource) if isinstance(resource, str) else None
    if old is not None and old.name in allowed:
        warn_deprecated(f"{caller}(resource={resource!r})", f"resource={old.name!r}",
                        why=", the registry's one spelling", stacklevel=5)  # fmt: skip
        return old.name
    if not strict:
        return resource
    raise ValueError(f"resource must be one of {list(allowed)}, got {resource!r}")


@dataclass(frozen=True)
class ResourceQuery:
    resource: str
    business_id: str | None = None
    resource_id: str | None = None
    external_id: str | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    condition: dict[str, list[Any]] = field(default_factory=dict)
    min_count: int = 1

    def __post_init__(self) -> None:
        if self.resource not in RESOURCES:
            raise ValueError(f"resource must be one of {sorted(RESOURCES)}, got {self.resource!r}")
        if self.resource != "business" and not self.business_id:
            raise ValueError(f"business_id is required to watch a {self.resource}")
        chosen = [x for x in (self.resource_id, self.external_id, self.filters or None) if x]
        if len(chosen) != 1:
            raise ValueError("give exactly one of resource_id, external_id or filters")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Look:
    """One look at a resource: met, or not yet and why (not a record's sync outcome)."""

    met: bool
    value: Any = None
    reason: str = ""


def normalise_condition(
    condition: Condition,
) -> tuple[dict[str, list[Any]], Callable[[dict[str, Any]], bool] | None]:
    """``{"status": "paid"}`` or ``{"status": ["paid", "partially_paid"]}`` or a callable."""
    if condition is None:
        return {}, None
    if callable(condition):
        return {}, condition
    return {k: list(v) if isinstance(v, list | tuple | set) else [v] for k, v in condition.items()}, None


def matches(record: Mapping[str, Any], condition: Mapping[str, Sequence[Any]]) -> bool:
    """Field/value match; strings compare case-insensitively (Thredfi writes ``SENT`` and ``sent``)."""
    for name, accepted in condition.items():
        value = record.get(name)
        folded = value.lower() if isinstance(value, str) else value
        if not any(folded == (a.lower() if isinstance(a, str) else a) for a in accepted):
            return False
    return True


def evaluate(
    client: ThredfiClient, query: ResourceQuery, predicate: Callable[[dict[str, Any]], bool] | None = None
) -> Look:
    """One look. 404 and transient faults mean "not yet"; permission/validation errors raise."""
    from thredfi_provider.client.errors import ThredfiNotFoundError, ThredfiTransientError

    def ok(record: dict[str, Any]) -> bool:
        return matches(record, query.condition) and (predicate is None or bool(predicate(record)))

    kind = RESOURCES[query.resource]
    business_id = kind.token_scope(query.business_id)
    try:
        record: dict[str, Any] | None
        if query.resource_id or (not kind.business_scoped and not query.external_id):
            # A business is watched by its id: resource_id, or business_id (any filters are
            # ignored for one business, as they always were).
            record = client.get(business_id, kind, str(query.resource_id or query.business_id))
            return Look(True, record) if ok(record) else Look(False, reason="condition not met")
        if query.external_id:
            # Asked as a filter, and checked on every row here: not every list documents it.
            record = client.find_by_external_id(business_id, kind, query.external_id)
            if record is None:
                return Look(False, reason="no record with that external_id yet")
            return Look(True, record) if ok(record) else Look(False, reason="condition not met")
        ids: list[str] = []
        count = 0
        for found in client.list_records(business_id, kind, params=query.filters):
            if ok(found):
                count += 1
                if len(ids) < MAX_RETURNED_IDS:
                    ids.append(str(found.get("id")))
        value = {"count": count, "ids": ids}
        return Look(count >= query.min_count, value, reason=f"{count} of {query.min_count} matching")
    except ThredfiNotFoundError as exc:
        # A record may appear later; a business that is unknown (or another partner's) will not.
        if exc.error_code == "business_not_found" and query.resource != "business":
            raise
        return Look(False, reason="not found yet")
    except ThredfiTransientError as exc:
        log.warning("Thredfi not reachable right now, will look again: %s", exc)
        return Look(False, reason=f"transient: {exc}")


def describe_match(query: ResourceQuery | Mapping[str, Any], value: Any) -> str:
    """What matched, for the log line a person reads when the sensor succeeds.

    The record's id and external_id and the fields the condition named, with their values; for a
    list query, how many matched and the first ids.
    """
    asked = query.to_dict() if isinstance(query, ResourceQuery) else dict(query)
    resource = str(asked.get("resource", "record"))
    if isinstance(value, Mapping) and "count" in value and "ids" in value and "id" not in value:
        ids = ", ".join(str(i) for i in value.get("ids") or [])
        return f"{value['count']} {resource} record(s) matched {asked.get('filters') or {}}: {ids}"
    if not isinstance(value, Mapping):
        return f"{resource} matched"
    named = [f"{name}={value.get(name)!r}" for name in (asked.get("condition") or {})]
    who = f"{resource} {value.get('external_id') or ''} (id {value.get('id')})".replace("  ", " ")
    return who + (" with " + ", ".join(named) if named else " matched")
