"""The sync summary: every record's outcome, kept on disk, and an XCom that stays small.

XCom lives in the metadata database and every downstream task pulls it, so a summary of a
million records must not be a million-entry XCom. Each record's outcome is appended to a local
spool file (JSONL) the moment it ends; memory holds only the counts, the first failures and
conflicts, and, while the batch is small, its ids. At the end:

- a small batch (its whole report ≤ ``INLINE_BYTES`` of JSON) returns everything inline, as
  it always has: ``ids``, every failure, every conflict;
- a larger one has the spool published to ``details`` (by :mod:`.report_storage`: an
  ``ObjectStoragePath``, a local file by default, or any fsspec URL such as ``s3://``) and
  returns the counts, the first ``FIRST_ENTRIES`` failures and conflicts, and that path. The
  XCom stays under ``MAX_XCOM_BYTES`` whatever the record count.

:func:`thredfi_provider.operators.summary.read_ids` reads either form, so write-back code does not
care.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thredfi_provider.client.errors import ThredfiError
    from thredfi_provider.operators._sync.record_outcome import Outcome

log = logging.getLogger(__name__)

INLINE_BYTES = 48 * 1024  # the whole report inline up to this much JSON
MAX_XCOM_BYTES = 64 * 1024  # never more than this in XCom
INLINE_RECORDS = 2_000  # past this many records the report cannot be inline; stop keeping ids
FIRST_ENTRIES = 10  # failures and conflicts quoted in a large batch's XCom
LOGGED_UPDATES = 100  # updated records named with their changed fields at INFO; the rest at DEBUG
CLIP_CHARS = 400  # a quoted value longer than this is shortened in XCom (the report has it whole)


@dataclass
class BatchSummary:
    """Counts and, bounded, the details of a batch; every outcome also goes to the spool."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    voided: int = 0
    removed: int = 0
    unverified: int = 0
    conflict_count: int = 0
    failed_count: int = 0
    retryable_failures: int = 0
    validation_failures: int = 0  # rows refused before sending (mirror mode trusts no such snapshot)
    mirror_skipped: str | None = None
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    keep_all_ids: bool = False  # the deprecated aliases return every id
    complete: bool = True  # conflicts, failed and ids hold every entry
    _spool: IO[str] | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ recording

    def fail(self, label: str, error: ThredfiError, business_id: str | None = None) -> None:
        entry: dict[str, Any] = {"external_id": label, "error": str(error), "retryable": error.retryable}
        if business_id:
            entry["business_id"] = business_id
        if getattr(error, "field", None):
            entry["field"] = error.field  # type: ignore[attr-defined]
        elif error.details:
            entry["field"] = next(iter(error.details))  # the server's first field error
        if error.status is not None:
            entry["status"] = error.status
        self.failed_count += 1
        self.retryable_failures += bool(error.retryable)
        self._keep(self.failed, entry)
        self._write({"state": "failed", **entry})

    def record(self, label: str, business_id: str, outcome: Outcome) -> None:
        line: dict[str, Any] = {"external_id": label, "state": outcome.state}
        if business_id:
            line["business_id"] = business_id
        if outcome.record_id:
            line["id"] = outcome.record_id
            if self.complete or self.keep_all_ids:
                self.ids[label] = outcome.record_id
        if outcome.state == "conflict":
            entry: dict[str, Any] = {"external_id": label, "field": outcome.field, "reason": outcome.reason}
            if business_id:
                entry["business_id"] = business_id
            if outcome.held is not None or outcome.sent is not None:
                entry["thredfi"], entry["source"] = _jsonable(outcome.held), _jsonable(outcome.sent)
            self.conflict_count += 1
            self._keep(self.conflicts, entry)
            line.update(entry)
        else:
            setattr(self, outcome.state, getattr(self, outcome.state) + 1)
            if outcome.state == "updated" and outcome.changed:
                line["changed"] = list(outcome.changed)
                level = logging.INFO if self.updated <= LOGGED_UPDATES else logging.DEBUG
                log.log(level, "Thredfi record %r updated: %s", label, ", ".join(outcome.changed))
                if self.updated == LOGGED_UPDATES:
                    log.info(
                        "Thredfi: further updates are logged at DEBUG; every one is in the details report"
                    )
            elif outcome.state == "unverified":
                line["unverified"] = list(outcome.changed)
                log.info(
                    "Thredfi record %r: %s not returned by Thredfi's read, so not proven equal "
                    "(set state_path to compare against what was last applied)",
                    label, ", ".join(outcome.changed),
                )  # fmt: skip
        self._write(line)

    def _keep(self, entries: list[dict[str, Any]], entry: dict[str, Any]) -> None:
        if self.complete or len(entries) < FIRST_ENTRIES:
            entries.append(entry)

    def _write(self, line: dict[str, Any]) -> None:
        if self._spool is None:
            self._spool = tempfile.TemporaryFile("w+", encoding="utf-8", prefix="thredfi-summary-")  # noqa: SIM115 - closed by close()
        self._spool.write(json.dumps(line, separators=(",", ":"), default=str) + "\n")
        if self.complete and self.total > INLINE_RECORDS:
            self.complete = False
            if not self.keep_all_ids:
                self.ids = {}
            del self.failed[FIRST_ENTRIES:], self.conflicts[FIRST_ENTRIES:]

    @property
    def total(self) -> int:
        states = self.created + self.updated + self.unchanged + self.voided + self.removed + self.unverified
        return states + self.conflict_count + self.failed_count

    def counts(self) -> dict[str, int]:
        return {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "voided": self.voided,
            "removed": self.removed,
            "unverified": self.unverified,
            "conflict_count": self.conflict_count,
            "failed_count": self.failed_count,
        }

    # ------------------------------------------------------------------ the XCom

    def to_xcom(self, publish: Callable[[IO[str]], str] | None = None) -> dict[str, Any]:
        """The whole report when it is small; otherwise counts, the first entries and a path.

        ``publish`` copies the spool somewhere downstream tasks can read and returns its URL;
        without one (tests, the deprecated XCom push) a large report stays truncated.
        """
        if self.complete:
            inline = {**self.counts(), "conflicts": self.conflicts, "failed": self.failed, "ids": self.ids}
            if _size(inline) <= INLINE_BYTES:
                return inline
        value: dict[str, Any] = {
            **self.counts(),
            "conflicts": [_clip_entry(e) for e in self.conflicts[:FIRST_ENTRIES]],
            "failed": [_clip_entry(e) for e in self.failed[:FIRST_ENTRIES]],
            "truncated": True,
        }
        if self.keep_all_ids:
            value["ids"] = self.ids  # the deprecated names' promise: every id, unbounded
        if publish is not None and self._spool is not None:
            self._spool.flush()
            self._spool.seek(0)
            try:
                value["details"] = publish(self._spool)
            except Exception as exc:  # the records are in Thredfi; a storage fault must not undo that
                log.warning("Could not write the Thredfi summary's details report: %s", exc)
                value["details_error"] = f"{type(exc).__name__}: {exc}"[:500]
        while _size(value) > MAX_XCOM_BYTES and (value["conflicts"] or value["failed"]):
            longer = "conflicts" if len(value["conflicts"]) >= len(value["failed"]) else "failed"
            value[longer].pop()
        return value

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str).encode())


def _clip(value: Any) -> Any:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) <= CLIP_CHARS:
        return value
    return text[:CLIP_CHARS] + f"... ({len(text)} characters; whole in the details report)"


def _clip_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _clip(value) for key, value in entry.items()}


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value
