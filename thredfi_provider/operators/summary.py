"""Reading a sync's summary in a downstream task, whichever form the summary took.

A small batch returns its ids, failures and conflicts inline in XCom; a large one returns counts
and the path of its details report (:doc:`/sync-decisions`). :func:`read_ids` and
:func:`iter_outcomes` read either form, so write-back code does not care.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from thredfi_provider._deprecations import moved_to

# ``BatchSummary`` and its limits moved to the internal sync package (until 2.0, with a warning).
__getattr__ = moved_to(__name__, ("thredfi_provider.operators._sync.batch_summary",))


def iter_outcomes(summary: Mapping[str, Any], conn_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Every record's outcome line: from the details report when there is one, else inline.

    Each line has ``external_id`` and ``state``; report lines say every state, inline ones only
    ``"conflict"`` and ``"failed"`` (``None`` for a record Thredfi holds in another state).
    """
    details = summary.get("details")
    if details:
        from thredfi_provider.operators._sync.report_storage import storage_path

        with storage_path(str(details), conn_id).open("r", encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield json.loads(line)
        return
    if summary.get("truncated"):
        why = summary.get("details_error") or "no details report was written"
        raise ValueError(f"this summary was truncated and names no details report ({why})")
    conflicts = {entry["external_id"] for entry in summary.get("conflicts") or ()}
    for external_id, record_id in (summary.get("ids") or {}).items():
        # Inline, only conflicts and failures say their state; the others are held in Thredfi.
        yield {
            "external_id": external_id,
            "id": record_id,
            "state": "conflict" if external_id in conflicts else None,
        }
    for entry in summary.get("failed") or ():
        yield {"state": "failed", **entry}


def read_ids(summary: Mapping[str, Any], conn_id: str | None = None) -> dict[str, str]:
    """``{external_id: Thredfi id}`` for every record that has one, from either form."""
    if "ids" in summary and not summary.get("details"):
        return dict(summary["ids"])
    return {line["external_id"]: line["id"] for line in iter_outcomes(summary, conn_id) if line.get("id")}
