"""Per-business facts a batch checks records against, each fetched at most once per task."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from thredfi_provider.client.errors import ThredfiRecordError

if TYPE_CHECKING:
    from thredfi_provider.client import ThredfiClient
    from thredfi_provider.client.models import Allocation


class BusinessLookups:
    """Currency, parties and documents of one business, looked up lazily and cached."""

    def __init__(self, client: ThredfiClient, business_id: str) -> None:
        self.client = client
        self.business_id = business_id
        self._documents: dict[tuple[str, str], str | None] = {}
        self._lock = threading.Lock()

    @cached_property
    def business(self) -> dict[str, Any]:
        return self.client.get_business(self.business_id)

    @cached_property
    def currency(self) -> str:
        return str(self.business.get("base_currency") or self.business.get("currency") or "").upper()

    def _parties(self, resource: str) -> tuple[set[str], dict[str, str]]:
        ids: set[str] = set()
        by_external: dict[str, str] = {}
        for party in self.client.list_records(self.business_id, resource, include_archived="true"):
            ids.add(str(party["id"]))
            if party.get("external_id"):
                by_external[str(party["external_id"])] = str(party["id"])
        return ids, by_external

    @cached_property
    def customers(self) -> tuple[set[str], dict[str, str]]:
        return self._parties("customers")

    @cached_property
    def vendors(self) -> tuple[set[str], dict[str, str]]:
        return self._parties("vendors")

    def check_currency(self, label: str, currency: str | None) -> None:
        if currency and self.currency and currency != self.currency:
            raise ThredfiRecordError(
                label, "currency", f"{currency} differs from the business's base currency {self.currency}"
            )

    def party_id(self, label: str, kind: str, party_id: str | None, external_id: str | None) -> str:
        """Resolve a customer/vendor reference, refusing unknown ones before sending anything."""
        ids, by_external = self.customers if kind == "customer" else self.vendors
        if party_id:
            if party_id not in ids:
                raise ThredfiRecordError(
                    label, f"{kind}_id", f"unknown {kind} {party_id!r} in business {self.business_id}"
                )
            return party_id
        assert external_id is not None
        found = by_external.get(external_id)
        if found is None:
            raise ThredfiRecordError(
                label, f"{kind}_external_id", f"unknown {kind} {external_id!r} in business {self.business_id}"
            )
        return found

    def document_id(
        self, label: str, resource: str, field: str, doc_id: str | None, external_id: str | None
    ) -> str:
        """Resolve an invoice/bill reference by external id (one filtered lookup per reference)."""
        if doc_id:
            return doc_id
        assert external_id is not None
        key = (resource, external_id)
        with self._lock:
            if key not in self._documents:
                record = self.client.find_by_external_id(
                    f"businesses/{self.business_id}/{resource}/", external_id, business_id=self.business_id
                )
                self._documents[key] = str(record["id"]) if record else None
            found = self._documents[key]
        if found is None:
            raise ThredfiRecordError(
                label, field, f"unknown {resource[:-1]} {external_id!r} in business {self.business_id}"
            )
        return found

    def allocation_targets(self, label: str, resource: str, allocations: Sequence[Allocation]) -> list[str]:
        """Thredfi ids of the invoices/bills a payment's allocations point at, in order."""
        return [
            self.document_id(label, resource, f"allocations[{i}]", a.target_id, a.target_external_id)
            for i, a in enumerate(allocations)
        ]
