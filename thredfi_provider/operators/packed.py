"""What Thredfi holds, kept compact and, past a process-wide budget, on disk.

A sync reads every record Thredfi holds for each business it touches (one pass of list pages),
so a rerun over businesses with 200,000 invoices would hold 200,000 records. As Python dicts a
held invoice is about 7.7 KB; as JSON bytes 1.7 KB. ``Packed`` keeps the JSON, decodes on read,
and once all ``Packed`` maps of the process hold more than ``MEMORY_BUDGET`` bytes, the one being
filled moves to a temporary SQLite file (the standard library's, deleted when closed, with a
4 MB page cache). So a task's memory is bounded by the budget, not by the businesses' history;
a read from disk costs tens of microseconds, against the milliseconds of a request.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from typing import Any

Record = dict[str, Any]
MEMORY_BUDGET = 64 * 1024 * 1024  # bytes of packed records in memory, for the whole process

_budget_lock = threading.Lock()
_in_memory = 0  # bytes held in memory by every Packed of the process


class Packed(Mapping[str, Record]):
    """A mapping of key to record, stored as JSON bytes; each read returns a fresh dict."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}
        self._bytes = 0
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # guards the SQLite connection, never held across a request

    def __getitem__(self, key: str) -> Record:
        packed = self.raw(key)
        if packed is None:
            raise KeyError(key)
        record: Record = json.loads(packed)
        return record

    def __iter__(self) -> Iterator[str]:
        if self._db is None:
            return iter(list(self._data))
        with self._lock:
            keys = [row[0] for row in self._db.execute("SELECT k FROM packed")]
        return iter(keys)

    def __len__(self) -> int:
        if self._db is None:
            return len(self._data)
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM packed").fetchone()[0])

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.raw(key) is not None

    def raw(self, key: str) -> bytes | None:
        if self._db is None:
            return self._data.get(key)
        with self._lock:
            row = self._db.execute("SELECT v FROM packed WHERE k = ?", (key,)).fetchone()
        return bytes(row[0]) if row else None

    def put(self, key: str, packed: bytes) -> None:
        global _in_memory
        if self._db is not None:
            with self._lock:
                self._db.execute("INSERT OR REPLACE INTO packed VALUES (?, ?)", (key, packed))
            return
        old = self._data.get(key)
        self._data[key] = packed
        grown = len(packed) - (len(old) if old is not None else 0)
        self._bytes += grown
        with _budget_lock:
            _in_memory += grown
            over = _in_memory > MEMORY_BUDGET
        if over:
            self.spill()

    @property
    def spilled(self) -> bool:
        return self._db is not None

    def spill(self) -> None:
        """Move this map to a temporary SQLite file and give its bytes back to the budget."""
        global _in_memory
        from thredfi_provider.operators.dedup import scratch_db

        db = scratch_db()
        db.execute("CREATE TABLE packed (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID")
        db.executemany("INSERT INTO packed VALUES (?, ?)", self._data.items())
        with _budget_lock:
            _in_memory -= self._bytes
        self._data, self._bytes, self._db = {}, 0, db

    def close(self) -> None:
        global _in_memory
        with _budget_lock:
            _in_memory -= self._bytes
        self._data, self._bytes = {}, 0
        if self._db is not None:
            self._db.close()
            self._db = None

    def __del__(self) -> None:  # an index dropped with its task's lookups gives its budget back
        with contextlib.suppress(Exception):  # at interpreter shutdown there is nothing to give back
            self.close()
