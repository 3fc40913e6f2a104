"""What one task knows about one business, each fact fetched at most once, failures included.

Lookups never trust a list filter the contract does not document: an ``external_id`` filter is
asked for and the match is checked here, and as soon as a server shows it ignores the filter
(a row with another ``external_id`` comes back) the whole list is read once, in pages, into an
index. So resolving 1,000 references in a business of 20,000 invoices costs about 200 list
requests against a strict server, and one request per reference against a server that honours
the filter, for the first ``FILTERED_BEFORE_INDEX`` references of a kind; past those the index
is read too, because it is cheaper per reference and keeps memory bounded by what Thredfi holds
(packed), not by the number of distinct references a long source makes. A lookup that failed
(an unknown business, a business of another partner) is remembered too, so 20 records of that
business cost one request, not 20.

**How a sync learns what Thredfi holds** (:class:`Plan`): per record, or one pass of pages,
whichever costs less.

A scheduled run should cost what changed, not what the business has accumulated. Two ways to
find what Thredfi holds under each ``external_id`` are published:

- **per record**: create first. The contract makes a create idempotent on ``external_id``: a
  known one returns the existing record (200, or 409 with another body), which is then compared
  and changed only if different. One request per record, whatever the history.
- **one pass**: read every page of the list into an index (``count / page_size`` requests, read
  concurrently), then create only what is absent and compare the rest with no further reads.

A day of new records is cheapest per record (the creates are needed anyway); a rerun of a day
whose records all exist is cheapest by a pass when the history is short and per record when it
is long. The plan learns which day it is facing from the records themselves: the first
``SAMPLE`` records of a business go per record, one after another, and say whether they were
new. If all were new, the rest go per record too, with no read at all. If some existed, one
request (page 1 and its ``count``) prices the pass, and the pass is chosen when its remaining
pages cost less than the expected lookups: ``pages - 1 < share_existing * remaining``.

So, in requests beyond tokens and the business's references: a day of D new records costs D;
a rerun of D records costs min(D, pages) + ``SAMPLE`` + 1, at any history size.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from thredfi_provider.client.errors import ThredfiError, ThredfiRecordError
from thredfi_provider.client.resources import ACCOUNT, resolve
from thredfi_provider.operators._sync.remembered import Remembered
from thredfi_provider.operators._sync.scratch import Packed

if TYPE_CHECKING:
    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.client.models import Allocation
    from thredfi_provider.client.pagination import FirstPage

log = logging.getLogger(__name__)

T = TypeVar("T")
SAMPLE = 2
Mode = Literal["sample", "per_record", "index"]
FILTERED_BEFORE_INDEX = 100
Record = dict[str, Any]


class Index:
    """Every record of one list endpoint by ``external_id`` and by id, read in one pass of pages.

    Built from an iterator as the pages arrive, so the whole list is never held as dicts, and
    kept packed (``operators/_sync/scratch.py``): compact in memory, on disk past a process-wide budget.
    """

    def __init__(self, records: Iterable[Record]) -> None:
        self.by_external_id = Packed()
        self.by_id = Packed()
        self.duplicates: list[str] = []  # external_ids held twice: what idempotency must prevent
        self.anonymous = 0  # records whose read carries no external_id (the published payment read)
        for record in records:
            self.add(record)

    def add(self, record: Record) -> None:
        packed = json.dumps(record, separators=(",", ":")).encode()  # one copy, shared by both maps
        if record.get("id") is not None:
            self.by_id.put(str(record["id"]), packed)
        if "external_id" not in record:
            self.anonymous += 1
        elif record.get("external_id"):
            key = str(record["external_id"])
            earlier = self.by_external_id.raw(key)
            if earlier is not None and json.loads(earlier).get("id") != record.get("id"):
                self.duplicates.append(key)
            self.by_external_id.put(key, packed)


class BusinessLookups:
    """Currency, accounts, parties and documents of one business, looked up lazily and cached."""

    def __init__(
        self, client: ThredfiClient, business_id: str, *, prefer_index: bool = False,
        remembered: Remembered | None = None,
    ) -> None:  # fmt: skip
        """``prefer_index`` reads whole lists even where a filter would do: for a reconciliation,
        which references most of them anyway. ``remembered`` is what the sync state kept of the
        business's currency, parties and accounts (:mod:`.remembered`): no request to learn it."""
        self.client = client
        self.business_id = business_id
        self.prefer_index = prefer_index
        self.remembered = remembered if remembered is not None else Remembered()
        self._memo: dict[Any, Any] = {}
        self._found: dict[tuple[str, str], Record | None] = {}
        self._filter_ignored: set[str] = set()
        self._filtered: dict[str, int] = {}  # filtered lookups made, per resource
        self._lock = threading.Lock()
        self._key_locks: dict[Any, threading.Lock] = {}
        self._plans: dict[str, Plan] = {}

    # ------------------------------------------------------------------ memo (results and failures)

    def _once(self, key: Any, fetch: Callable[[], T]) -> T:
        """Fetch once per task; a permanent failure is remembered and raised again without a request."""
        with self._lock:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._memo:
                try:
                    self._memo[key] = (True, fetch())
                except ThredfiError as exc:
                    if exc.retryable:
                        raise  # an outage may pass: the next record asks again
                    self._memo[key] = (False, exc)
            ok, value = self._memo[key]
        if not ok:
            raise value
        result: T = value
        return result

    @property
    def business(self) -> Record:
        return self._once("business", lambda: self.client.get_business(self.business_id))

    @property
    def currency(self) -> str:
        if self.remembered.currency:
            return self.remembered.currency
        currency = str(self.business.get("base_currency") or self.business.get("currency") or "").upper()
        self.remembered.learn_currency(currency)
        return currency

    def index(self, resource: str, *, first: FirstPage | None = None) -> Index:
        """One pass over a list endpoint of this business (O(pages), read concurrently), kept for
        the task; ``first`` is page 1 when a plan already read it to learn the count.

        Customers and vendors are asked for their archived ones too: an archived party still owns
        its ``external_id``. The vendors list documents ``include_archived``; the customers list's
        parameters were never published, so a server may ignore it there. A party the list hides
        is still found: by the idempotent create (sync), or by id (:meth:`party_id`).
        """
        params = self.list_params(resource)
        return self._once(
            ("index", resource),
            lambda: Index(self.client.read_all(self.business_id, resource, params=params, first=first)),
        )

    @staticmethod
    def list_params(resource: str) -> dict[str, str]:
        """What a full read of a list asks for (the plan's page 1 must ask the same)."""
        return {"include_archived": "true"} if resolve(resource).archivable else {}

    def plan(self, resource: str) -> Plan:
        """How this business's records of ``resource`` find what Thredfi holds (:class:`Plan`)."""
        with self._lock:
            found = self._plans.get(resource)
            if found is None:
                found = self._plans[resource] = Plan(self, resource, prefer_index=self.prefer_index)
        return found

    def businesses(self) -> Index:
        """The partner's businesses (a partner-level list), for the businesses operator."""
        return self._once(("index", "businesses"), lambda: Index(self.client.list_businesses()))

    def held(self, resource: str, external_id: str, *, first: FirstPage | None = None) -> Record | None:
        """What Thredfi holds under ``external_id``, from the index."""
        return self.index(resource, first=first).by_external_id.get(external_id)

    def read_once(self, resource: str, record_id: str) -> Record:
        """One record by Thredfi id, read at most once per task."""
        return self._once(
            ("read", resource, record_id), lambda: self.client.get(self.business_id, resource, record_id)
        )

    # ------------------------------------------------------------------ checks and references

    def check_currency(self, label: str, currency: str | None) -> None:
        if currency and self.currency and currency != self.currency:
            raise ThredfiRecordError(
                label, "currency", f"{currency} differs from the business's base currency {self.currency}"
            )

    def party_id(self, label: str, kind: str, party_id: str | None, external_id: str | None) -> str:
        """Resolve a customer/vendor reference, refusing unknown ones before sending anything."""
        known = self.remembered.parties.get(kind, {})
        if external_id and not party_id and external_id in known:
            return known[external_id]
        if party_id and party_id in self._once(("remembered ids", kind), lambda: set(known.values())):
            return party_id  # a set built once per task: a source of write-back ids asks per record
        path = resolve(kind).path
        index = self.index(path)
        if party_id:
            if party_id not in index.by_id and not self._exists(path, party_id):
                raise ThredfiRecordError(
                    label, f"{kind}_id", f"unknown {kind} {party_id!r} in business {self.business_id}"
                )
            return party_id
        assert external_id is not None
        found = index.by_external_id.get(external_id)
        if found is None:
            raise ThredfiRecordError(
                label, f"{kind}_external_id", f"unknown {kind} {external_id!r} in business {self.business_id}"
            )
        self.remembered.learn_party(kind, external_id, str(found["id"]))
        return str(found["id"])

    def _exists(self, resource: str, record_id: str) -> bool:
        """By id (get-customer, get-vendor are published): a list may hide archived parties."""
        try:
            self.read_once(resource, record_id)
        except ThredfiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def account_id(self, label: str, field: str, code: str) -> str:
        """A chart-of-accounts code as the account id the API reference's lines carry."""
        if code in self.remembered.accounts:
            return self.remembered.accounts[code]
        accounts = self._once(
            "accounts",
            lambda: {
                str(a["code"]): str(a["id"])
                for a in self.client.list_records(self.business_id, ACCOUNT)
                if a.get("code") is not None and a.get("id") is not None
            },
        )
        self.remembered.learn_accounts(accounts)
        found = accounts.get(code)
        if found is None:
            raise ThredfiRecordError(label, field, f"no account {code!r} in the chart of accounts")
        return found

    def document(
        self, label: str, resource: str, field: str, doc_id: str | None, external_id: str | None
    ) -> Record:
        """The invoice/bill a reference points at (``{"id": ...}`` when given by Thredfi id).

        A Thredfi id the source already holds (the write-back columns) needs no lookup at all.
        """
        if doc_id:
            indexed = self._memo.get(("index", resource))
            known = indexed[1].by_id.get(doc_id) if indexed and indexed[0] else None
            return known or {"id": doc_id}
        assert external_id is not None
        found = self.find(resource, external_id)
        if found is None:
            raise ThredfiRecordError(
                label, field, f"unknown {resource[:-1]} {external_id!r} in business {self.business_id}"
            )
        return found

    def find(self, resource: str, external_id: str) -> Record | None:
        """One record by ``external_id``: a filtered list checked here, or the index once a
        server shows it ignores the filter (or once enough lookups make the index cheaper)."""
        key = (resource, external_id)
        if key in self._found:
            return self._found[key]
        if (
            self.prefer_index
            or resource in self._filter_ignored
            or ("index", resource) in self._memo
            or self._filtered.get(resource, 0) >= FILTERED_BEFORE_INDEX
        ):
            return self.index(resource).by_external_id.get(external_id)
        self._filtered[resource] = self._filtered.get(resource, 0) + 1
        page = self._once(
            ("filtered", resource, external_id),
            lambda: next(
                self.client.iter_pages(
                    resolve(resource).collection(self.business_id),
                    business_id=self.business_id,
                    params={"external_id": external_id},
                ),
                [],
            ),
        )
        if any(row.get("external_id") != external_id for row in page):
            # The server ignores the filter (the contract does not document it): index once.
            self._filter_ignored.add(resource)
            return self.index(resource).by_external_id.get(external_id)
        found = page[0] if page else None
        self._found[key] = found
        return found

    def allocation_targets(
        self, label: str, resource: str, allocations: Sequence[Allocation]
    ) -> list[Record]:
        """The invoices/bills a payment's allocations point at, in order."""
        return [
            self.document(label, resource, f"allocations[{i}]", a.target_id, a.target_external_id)
            for i, a in enumerate(allocations)
        ]


class NotLooked:
    """What a sync holds for a record it has not looked up: it will create first and see."""

    def __repr__(self) -> str:
        return "NOT_LOOKED"


NOT_LOOKED = NotLooked()


class Plan:
    """One business's and one resource's way of finding what Thredfi holds, kept across chunks."""

    def __init__(self, lookups: BusinessLookups, resource: str, *, prefer_index: bool = False) -> None:
        self.lookups = lookups
        self.resource = resource
        self.mode: Mode = "index" if prefer_index else "sample"
        self.sampled = 0
        self.tried = 0  # sampled records that failed say nothing; they still end the sample
        self.existing = 0
        self.first: FirstPage | None = None
        self.reason = "a full pass was asked for" if prefer_index else ""

    def observe(self, state: str | None) -> None:
        """A sampled record's outcome: ``created`` means it was new; a failure says nothing."""
        self.tried += 1
        if state is None:
            return
        self.sampled += 1
        self.existing += state != "created"

    def decide(self, remaining: int) -> Mode:
        """The mode for the next record, ``remaining`` records of this business left to look up."""
        if self.mode == "sample" and (self.sampled >= SAMPLE or self.tried >= 2 * SAMPLE):
            self._choose(remaining)
        return self.mode

    def next_chunk(self, remaining: int) -> None:
        """A new chunk: per record may turn into a pass if this chunk is large for the history."""
        if self.mode == "per_record" and self.existing:
            self.first = None  # this run's own creates moved the count: price it afresh
            self._choose(remaining)

    def _choose(self, remaining: int) -> None:
        if not self.existing:
            self.mode, self.reason = "per_record", f"the first {self.sampled} records were new"
            return
        if self.first is None:
            self.first = self.lookups.client.first_page(
                self.lookups.business_id, self.resource, params=self.lookups.list_params(self.resource)
            )
        _, count, size = self.first
        if count is None:
            self.mode, self.reason = "per_record", "the list gives no count to price a pass"
            return
        pages_left = max(0, math.ceil(count / max(1, size)) - 1)
        expected_lookups = self.existing / self.sampled * remaining
        if pages_left < expected_lookups:
            self.mode = "index"
            self.reason = f"{pages_left} more pages < ~{expected_lookups:.0f} lookups of {remaining} records"
        else:
            self.mode = "per_record"
            self.reason = f"{pages_left} more pages >= ~{expected_lookups:.0f} lookups of {remaining} records"
        log.info(
            "Thredfi %s of business %s: %s (%s)",
            self.resource, self.lookups.business_id, self.mode.replace("_", " "), self.reason,
        )  # fmt: skip

    def held(self, external_id: str) -> dict[str, Any] | NotLooked | None:
        """What Thredfi holds under ``external_id`` as far as this mode knows."""
        if self.mode != "index":
            return NOT_LOOKED
        first, self.first = self.first, None  # page 1 seeds the pass once
        return self.lookups.held(self.resource, external_id, first=first)
