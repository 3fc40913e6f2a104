"""Which ``(business, external_id)`` pairs a batch has already seen, in bounded memory.

A source that lists one ``external_id`` twice is a bug the task must name: sending both would
make the second silently overwrite the first. Remembering every key of a million-record sync
in a Python set would cost ~70 MB, so past ``memory_limit`` keys the set moves to a temporary
SQLite database (the standard library's; on disk, deleted when closed) with a bounded page
cache. Small batches never touch it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

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
