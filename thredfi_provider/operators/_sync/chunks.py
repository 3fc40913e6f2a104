"""One chunk of source rows checked in full before any of it is sent.

Every row is parsed into its record model and its business resolved; a bad row fails alone,
named by its ``external_id`` (or position) and field. An ``external_id`` seen earlier in the
batch, in this chunk or an earlier one, is refused: two source rows for one Thredfi record
would race each other and one would silently win.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from thredfi_provider.client.models import RecordModel
    from thredfi_provider.operators._sync.batch_summary import BatchSummary
    from thredfi_provider.operators._sync.scratch import SeenKeys

M = TypeVar("M", bound="RecordModel")


def validate_chunk(
    model: type[M],
    chunk: list[tuple[int, Mapping[str, Any]]],
    summary: BatchSummary,
    seen: SeenKeys,
    *,
    business_id: str | None,
    needs_business: bool,
) -> dict[str, list[tuple[str, M]]]:
    """The chunk's valid records grouped by business, as ``(label, record)``; the rest failed."""
    from thredfi_provider.client.errors import ThredfiError, ThredfiRecordError
    from thredfi_provider.client.parsing import parse_record, record_label
    from thredfi_provider.client.urls import segment

    parsed: list[tuple[str, str, M]] = []
    for index, raw in chunk:
        label = record_label(raw, index)
        try:
            record = parse_record(model, raw, index)
            business = record.business_id or business_id or ""
            if needs_business and not business:
                raise ThredfiRecordError(label, "business_id", "no business_id on the record or the operator")
            if business:
                try:
                    segment(business, "business_id")
                except ThredfiError:
                    raise ThredfiRecordError(
                        label, "business_id", f"{business[:80]!r} is not a Thredfi id"
                    ) from None
        except ThredfiRecordError as exc:
            summary.fail(label, exc)
            continue
        parsed.append((label, business, record))
    earlier = seen.add_new(f"{b}\x00{r.external_id}" for _, b, r in parsed)  # earlier chunks
    grouped: dict[str, list[tuple[str, M]]] = {}
    here: set[str] = set()
    for label, business, record in parsed:
        key = f"{business}\x00{record.external_id}"
        if key in earlier or key in here:
            summary.fail(
                label, ThredfiRecordError(label, "external_id", "duplicate external_id in this batch")
            )
            continue
        here.add(key)
        grouped.setdefault(business, []).append((record.external_id, record))
    return grouped
