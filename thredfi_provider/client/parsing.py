"""One source row becomes a record model, or an error naming the record and the field.

One bad row is reported and skipped while the rest of the batch lands, so the error must say
which row (its ``external_id``, or its position) and which field, in the user's spelling.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from thredfi_provider.client.errors import ThredfiRecordError

if TYPE_CHECKING:
    from thredfi_provider.client.models import RecordModel

M = TypeVar("M", bound="RecordModel")


def record_label(record: Any, index: int) -> str:
    if isinstance(record, Mapping) and isinstance(record.get("external_id"), str) and record["external_id"]:
        return str(record["external_id"])[:80]
    return f"#{index}"


def _field_path(loc: Iterable[Any]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "record"


def parse_record(model: type[M], record: Any, index: int) -> M:
    """Validate one record; raise ThredfiRecordError naming the record and the first bad field."""
    label = record_label(record, index)
    if not isinstance(record, Mapping):
        raise ThredfiRecordError(label, "record", f"expected a mapping, got {type(record).__name__}")
    try:
        return model.model_validate(dict(record))
    except ValidationError as exc:
        first = exc.errors()[0]
        others = len(exc.errors()) - 1
        problem = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        if others:
            problem += f" (and {others} more problem{'s' if others > 1 else ''})"
        raise ThredfiRecordError(label, _field_path(first.get("loc", ())), problem) from None
