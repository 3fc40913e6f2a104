"""The sandbox's state: records in memory, optionally written through to SQLite.

Handlers run on one event loop, so there are no locks; SQLite is a journal that lets
``--db PATH`` survive a restart, not a query engine. List queries are cached per store
version so paging through 100,000 rows costs one filter pass, not one per page.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

Record = dict[str, Any]


class Store:
    def __init__(self, db_path: str | None = None) -> None:
        self._tables: dict[str, dict[str, Record]] = {}
        self._by_business: dict[tuple[str, str], list[str]] = {}
        self._external: dict[tuple[str, str, str], str] = {}
        self._by_source: dict[tuple[str, str], list[str]] = {}
        self.idempotency: dict[tuple[str, str], Record] = {}
        self.version = 0
        self._query_cache: dict[Any, list[Record]] = {}
        self._db = sqlite3.connect(db_path, check_same_thread=False) if db_path else None
        if self._db is not None:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS docs"
                " (kind TEXT, id TEXT, body TEXT, seq INTEGER PRIMARY KEY AUTOINCREMENT, UNIQUE(kind, id))"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS idem (scope TEXT, key TEXT, body TEXT, PRIMARY KEY(scope, key))"
            )
            self._load()

    # ---------------------------------------------------------------- persistence

    def _load(self) -> None:
        assert self._db is not None
        for kind, body in self._db.execute("SELECT kind, body FROM docs ORDER BY seq"):
            self._index(kind, json.loads(body))
        for scope, key, body in self._db.execute("SELECT scope, key, body FROM idem"):
            self.idempotency[scope, key] = json.loads(body)

    def _persist(self, kind: str, records: list[Record]) -> None:
        if self._db is None:
            return
        self._db.executemany(
            "INSERT INTO docs (kind, id, body) VALUES (?, ?, ?)"
            " ON CONFLICT(kind, id) DO UPDATE SET body=excluded.body",
            [(kind, r["id"], json.dumps(r)) for r in records],
        )
        self._db.commit()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    # ---------------------------------------------------------------- records

    def _index(self, kind: str, record: Record) -> None:
        table = self._tables.setdefault(kind, {})
        previous = table.get(record["id"])
        if previous is None:
            self._by_business.setdefault(
                (kind, record.get("business_id") or record.get("partner_id", "")), []
            ).append(record["id"])
            if record.get("source_reference"):
                self._by_source.setdefault((kind, str(record["source_reference"])), []).append(record["id"])
        elif previous.get("external_id") and previous.get("external_id") != record.get("external_id"):
            # An update changed the external_id: the old one must stop finding this record.
            old_key = (kind, _scope(previous), str(previous["external_id"]))
            if self._external.get(old_key) == record["id"]:
                del self._external[old_key]
        table[record["id"]] = record
        if record.get("external_id"):
            self._external[kind, _scope(record), str(record["external_id"])] = record["id"]
        self.version += 1
        self._query_cache.clear()

    def put(self, kind: str, record: Record) -> Record:
        self._index(kind, record)
        self._persist(kind, [record])
        return record

    def put_many(self, kind: str, records: Iterable[Record]) -> None:
        batch = list(records)
        for record in batch:
            self._index(kind, record)
        self._persist(kind, batch)

    def get(self, kind: str, record_id: str) -> Record | None:
        return self._tables.get(kind, {}).get(record_id)

    def by_external_id(self, kind: str, scope: str, external_id: str) -> Record | None:
        record_id = self._external.get((kind, scope, external_id))
        return self.get(kind, record_id) if record_id else None

    def by_source(self, kind: str, source_reference: str) -> list[Record]:
        """Records (journal entries) posted for one source document, oldest first."""
        table = self._tables.get(kind, {})
        return [table[i] for i in self._by_source.get((kind, source_reference), [])]

    def all(self, kind: str, owner: str) -> list[Record]:
        table = self._tables.get(kind, {})
        return [table[i] for i in self._by_business.get((kind, owner), [])]

    def query(self, kind: str, owner: str, key: Any, predicate: Callable[[Record], bool]) -> list[Record]:
        cache_key = (kind, owner, key)
        cached = self._query_cache.get(cache_key)
        if cached is None:
            cached = [r for r in self.all(kind, owner) if predicate(r)]
            self._query_cache[cache_key] = cached
        return cached

    def count_owned(self, kind: str, owner: str) -> int:
        """How many records of a kind one owner has, without copying them (ledger sequence numbers)."""
        return len(self._by_business.get((kind, owner), []))

    def count(self, kind: str) -> int:
        return len(self._tables.get(kind, {}))

    # ---------------------------------------------------------------- idempotency keys

    def remember(self, scope: str, key: str, entry: Record) -> None:
        self.idempotency[scope, key] = entry
        if self._db is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO idem (scope, key, body) VALUES (?, ?, ?)",
                (scope, key, json.dumps(entry)),
            )
            self._db.commit()


def _scope(record: Record) -> str:
    return str(record.get("business_id") or record.get("partner_id") or "")
