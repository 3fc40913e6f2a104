"""Bounded memory for a sync's two large sets, spilling to one kind of scratch database.

- :class:`SeenKeys`: which ``(business, external_id)`` pairs a batch has already seen. A source
  that lists one ``external_id`` twice is a bug the task must name: sending both would make the
  second silently overwrite the first. Remembering every key of a million-record sync in a
  Python set would cost ~70 MB, so past ``memory_limit`` keys the set moves to disk.
- :class:`Packed`: what Thredfi holds. A sync reads every record Thredfi holds for each business
  it touches (one pass of list pages), so a rerun over businesses with 200,000 invoices would
  hold 200,000 records. As Python dicts a held invoice is about 7.7 KB; as JSON bytes 1.7 KB.
  ``Packed`` keeps the JSON, decodes on read, and once all ``Packed`` maps of the process hold
  more than ``MEMORY_BUDGET`` bytes, the one being filled moves to disk. So a task's memory is
  bounded by the budget, not by the businesses' history; a read from disk costs tens of
  microseconds, against the milliseconds of a request.

Both spill to :func:`scratch_db`: a temporary SQLite file (the standard library's, deleted when
closed) with a 4 MB page cache. Small batches never touch it.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

_PARAMS = 500  # below SQLite's smallest host-parameter limit (999)


def scratch_db() -> sqlite3.Connection:
    """A private temporary SQLite file (deleted when closed) with at most 4 MB of pages in memory.

    Durability is not wanted: the file lives for one task, so no journal and no fsync.
    """
    db = sqlite3.connect("", check_same_thread=False)  # "": a private temporary file
    db.execute("PRAGMA cache_size = -4096")
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    return db


class SeenKeys:
    """A set of keys that spills to disk once it holds ``memory_limit`` of them."""

    def __init__(self, memory_limit: int = 50_000) -> None:
        self.memory_limit = memory_limit
        self._memory: set[str] = set()
        self._db: sqlite3.Connection | None = None

    def add_new(self, keys: Iterable[str]) -> set[str]:
        """Add ``keys``; return those that were already present before this call."""
        batch = list(dict.fromkeys(keys))
        repeated: set[str] = set()
        if self._db is None and len(self._memory) + len(batch) > self.memory_limit:
            self._spill()
        if self._db is None:
            repeated.update(k for k in batch if k in self._memory)
            self._memory.update(batch)
            return repeated
        db = self._db
        for start in range(0, len(batch), _PARAMS):
            part = batch[start : start + _PARAMS]
            marks = ",".join("?" * len(part))
            repeated.update(row[0] for row in db.execute(f"SELECT k FROM seen WHERE k IN ({marks})", part))  # noqa: S608 - only "?" marks
        db.executemany("INSERT OR IGNORE INTO seen VALUES (?)", ((k,) for k in batch))
        return repeated

    def present(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` were added (mirror mode: is this record still in the source?)."""
        batch = list(dict.fromkeys(keys))
        if self._db is None:
            return {k for k in batch if k in self._memory}
        found: set[str] = set()
        for start in range(0, len(batch), _PARAMS):
            part = batch[start : start + _PARAMS]
            marks = ",".join("?" * len(part))
            found.update(row[0] for row in self._db.execute(f"SELECT k FROM seen WHERE k IN ({marks})", part))  # noqa: S608 - only "?" marks
        return found

    def _spill(self) -> None:
        db = scratch_db()
        db.execute("CREATE TABLE seen (k TEXT PRIMARY KEY) WITHOUT ROWID")
        db.executemany("INSERT INTO seen VALUES (?)", ((k,) for k in self._memory))
        self._memory = set()
        self._db = db

    @property
    def spilled(self) -> bool:
        return self._db is not None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self._memory = set()


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
