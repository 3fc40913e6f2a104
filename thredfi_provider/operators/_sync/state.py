"""What the last sync applied, per record, kept as reverse-ETL engines keep it: the diff file.

Hightouch keeps what the last sync sent, Segment a ``record_id`` and checksum per row. Here one
JSON object per connection, business and resource (``{state_path}/{conn_id}/{business_id}/
{resource}.json``) holds, per ``external_id``: the Thredfi id, a digest of each source field as
last applied, and the last outcome. With it a sync asks Thredfi nothing about a record whose
digests match and whose last outcome was a success: 0 requests. A changed record is sent to its
stored id; a failed or conflicting one is tried again even if unchanged.

Why it is safe:

- It is written after a chunk's requests have ended, atomically (a local file through a
  temporary name and ``os.replace``; an object store's PUT replaces the object whole). A crash
  before the write costs a resend of that chunk, which the idempotent create (``external_id``) and
  the compare turn into ``unchanged``; it never marks something applied that was not.
- A missing, unreadable or foreign object is an empty state: the sync falls back to asking
  Thredfi (the cost-based plan), never to a wrong answer.
- Two task instances of one business: each merges its entries into what is stored when it saves
  (read, merge, replace). The window between the read and the replace can drop the other's last
  chunk of entries; those records are then looked up again on the next run. Nothing is applied
  twice (creates are idempotent) and nothing is called unchanged that was not applied.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thredfi_provider.operators._sync.remembered import Remembered

if TYPE_CHECKING:
    from thredfi_provider.client.models import RecordModel

log = logging.getLogger(__name__)

VERSION = 1
# Outcomes after which an unchanged source record is left alone; any other is tried again.
# ``unverified`` is not one: Thredfi's side was never compared, so the next run looks again.
SETTLED = frozenset({"created", "updated", "unchanged", "voided", "removed"})
Fingerprint = dict[str, str]


def fingerprint(record: RecordModel) -> Fingerprint:
    """A short digest of each source field: which fields changed is known with no request."""
    dumped = record.model_dump(mode="json", exclude={"business_id"}, exclude_none=True)
    return {
        name: hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[
            :16
        ]
        for name, value in sorted(dumped.items())
    }


def changed_fields(before: Mapping[str, str], now: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(sorted(name for name in set(before) | set(now) if before.get(name) != now.get(name)))


@dataclass
class Entry:
    """One record as last applied: its Thredfi id, its fields' digests, how it ended."""

    record_id: str | None
    fields: Fingerprint
    outcome: str

    @property
    def applied(self) -> bool:
        """Thredfi holds it as last sent (a change can go straight to its id)."""
        return self.outcome in SETTLED and self.outcome != "removed" and self.record_id is not None

    @property
    def holds_id(self) -> bool:
        """Thredfi holds it under this id (whatever the last run made of it)."""
        return self.record_id is not None and self.outcome != "removed"

    def settled_as(self, now: Fingerprint) -> bool:
        """Nothing to do: the same fields were applied and that ended well (a record mirror mode
        removed and the source has again is looked at afresh)."""
        return self.applied and self.fields == now


def _hide(text: str) -> str:
    """A URL's credentials (``s3://key:secret@bucket``) never reach a log line."""
    return re.sub(r"//[^/@\s]*@", "//***@", text)


def _newest(*stamps: str | None) -> str | None:
    return max((s for s in stamps if s), default=None)


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]", "_", part) or "_"


class SyncState:
    """The state object of one (connection, business, resource); loaded once, saved per chunk."""

    def __init__(self, url: str, storage_conn_id: str | None, business_id: str, resource: str) -> None:
        self.url = url
        # What logs show of it: a URL may carry credentials (s3://key:secret@bucket/...).
        self.shown = _hide(url)
        self.storage_conn_id = storage_conn_id
        self.business_id = business_id
        self.resource = resource
        self.entries: dict[str, Entry] = {}
        self.full_refresh_at: str | None = None
        self.mirrored_at: str | None = None  # the newest snapshot mirror mode removed against
        self.touched: set[str] = set()
        # False when what is stored could not be read, or is a format this code does not know:
        # writing this run's entries alone would wipe it, so nothing is written.
        self.writable = True
        self._mirrored = False
        self._loaded: dict[str, Any] = {}  # the stored entries as this run found them
        self.remembered = Remembered()  # the business's currency, parties and accounts

    @classmethod
    def location(cls, root: str, conn_id: str, business_id: str, resource: str) -> str:
        parts = [_safe(conn_id), _safe(business_id or "partner"), f"{_safe(resource)}.json"]
        return root.rstrip("/") + "/" + "/".join(parts)

    @classmethod
    def load(
        cls, root: str, storage_conn_id: str | None, conn_id: str, business_id: str, resource: str
    ) -> SyncState:
        state = cls(
            cls.location(root, conn_id, business_id, resource), storage_conn_id, business_id, resource
        )
        raw = state._read()
        if raw is not None:
            state._adopt(raw)
        return state

    # ------------------------------------------------------------------ reading

    def _read(self) -> dict[str, Any] | None:
        """What is stored; None when absent (writable), unreadable or foreign (not writable), or
        corrupt (writable: the next save replaces it whole)."""
        try:
            text = self._path().read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except Exception as exc:  # storage down, permissions: plan without state, never guess
            log.warning("Thredfi sync state %s could not be read (%s); planning without it, "
                        "and not writing it", self.shown, _hide(str(exc)))  # fmt: skip
            self.writable = False
            return None
        try:
            raw = json.loads(text)
        except ValueError as exc:
            log.warning("Thredfi sync state %s is unusable (%s); planning without it", self.shown, exc)
            return None
        if (
            not isinstance(raw, dict)
            or raw.get("version") != VERSION
            or (raw.get("business_id") != self.business_id or raw.get("resource") != self.resource)
        ):
            log.warning("Thredfi sync state %s is not this provider's version-%d state of business %s's %s; "
                        "planning without it, and not writing it", self.shown, VERSION, self.business_id,
                        self.resource)  # fmt: skip
            self.writable = False
            return None
        return raw

    def _adopt(self, raw: Mapping[str, Any]) -> None:
        entries: dict[str, Entry] = {}
        try:
            for external_id, (record_id, fields, outcome) in dict(raw.get("records") or {}).items():
                if not isinstance(fields, dict) or not isinstance(outcome, str):
                    raise ValueError(external_id)
                entries[str(external_id)] = Entry(
                    None if record_id is None else str(record_id), fields, outcome
                )
        except (TypeError, ValueError) as exc:
            log.warning(
                "Thredfi sync state %s has a malformed entry (%s); planning without it", self.shown, exc
            )
            return
        self.entries = entries
        self.full_refresh_at = raw.get("full_refresh_at")
        self.mirrored_at = raw.get("mirrored_at")
        self.remembered = Remembered.from_json(raw.get("remembered"))
        self._loaded = dict(raw.get("records") or {})

    # ------------------------------------------------------------------ what a sync asks

    def get(self, external_id: str) -> Entry | None:
        return self.entries.get(external_id)

    def record(self, external_id: str, record_id: str | None, fields: Fingerprint, outcome: str) -> None:
        """How a record ended; a failure keeps what was applied before, so it is tried again."""
        before = self.entries.get(external_id)
        if outcome in SETTLED:
            self.entries[external_id] = Entry(
                record_id or (before.record_id if before else None), fields, outcome
            )
        else:
            kept = before.fields if before else {}
            self.entries[external_id] = Entry(before.record_id if before else record_id, kept, outcome)
        self.touched.add(external_id)

    def removable(self) -> list[tuple[str, Entry]]:
        """Entries mirror mode may remove if the snapshot lacks them: held, not already removed."""
        return [(ext, entry) for ext, entry in self.entries.items() if entry.holds_id]

    def refresh_due(self, every_days: int | None, now: dt.datetime) -> bool:
        if every_days is None:
            return False
        if not self.full_refresh_at:
            return True
        try:
            last = dt.datetime.fromisoformat(self.full_refresh_at)
        except ValueError:
            return True
        return now - last >= dt.timedelta(days=every_days)

    # ------------------------------------------------------------------ writing

    def save(self, *, full_refresh_at: str | None = None) -> None:
        """Merge this run's entries into what is stored, and replace the object whole."""
        if full_refresh_at:
            self.full_refresh_at = full_refresh_at
        if not self.writable or not (
            self.touched or full_refresh_at or self._mirrored or self.remembered.changed
        ):
            return
        stored = self._read()
        if self.read_failed():
            return
        merged: dict[str, Any] = dict((stored or {}).get("records") or {})
        for external_id in self.touched:
            entry = self.entries[external_id]
            # Another task instance wrote this record since this run read it: which write Thredfi
            # holds last is unknown, so the next run compares it in full instead of trusting either.
            contested = merged.get(external_id) != self._loaded.get(external_id)
            merged[external_id] = [entry.record_id, entry.fields, "contested" if contested else entry.outcome]
            self._loaded[external_id] = merged[external_id]
        body = {
            "version": VERSION,
            "business_id": self.business_id,
            "resource": self.resource,
            "full_refresh_at": self.full_refresh_at or (stored or {}).get("full_refresh_at"),
            "mirrored_at": _newest(self.mirrored_at, (stored or {}).get("mirrored_at")),
            "records": merged,
            "remembered": self.remembered.merged_with((stored or {}).get("remembered")),
        }
        self._write(json.dumps(body, separators=(",", ":"), sort_keys=True))
        self.touched.clear()
        self._mirrored = False
        self.remembered.changed = False

    def read_failed(self) -> bool:
        return not self.writable

    def mirrored(self, stamp: str) -> None:
        """Mirror mode removed against the snapshot of ``stamp``: an older one must not again."""
        self.mirrored_at, self._mirrored = stamp, True

    def _path(self) -> Any:
        if "://" not in self.url or self.url.startswith("file://"):
            return Path(self.url.removeprefix("file://"))
        from thredfi_provider.operators._sync.report_storage import storage_path

        return storage_path(self.url, self.storage_conn_id)

    def _write(self, text: str) -> None:
        path = self._path()
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(text)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, path)  # atomic: a reader sees the old state or the new, never half
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")  # an object store's PUT replaces the object whole
