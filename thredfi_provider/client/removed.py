"""The client's per-resource methods, replaced by the resource calls; kept until 2.0 with a warning.

The client once had a method per resource and action (``create_invoice``, ``void_invoice``...).
One registry (:mod:`.resources`) and six resource calls replaced them, so a new resource needs
no new method. Each old method still does what it did, through the new call it names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from thredfi_provider._deprecations import warn_deprecated
from thredfi_provider.client.resources import (
    ACCOUNT,
    BILL,
    BILL_PAYMENT,
    CUSTOMER,
    INVOICE,
    JOURNAL_ENTRY,
    PAYMENT,
    VENDOR,
)


def _warn(old: str, new: str) -> None:
    warn_deprecated(f"ThredfiClient.{old}()", f"ThredfiClient.{new}", stacklevel=4)  # the caller


class RemovedMethods:
    """Mixed into :class:`~thredfi_provider.client.client.ThredfiClient`; every method warns."""

    if TYPE_CHECKING:  # the client's resource calls, which the old methods go through

        def create(self, *args: Any, **kwargs: Any) -> Any: ...
        def get(self, *args: Any, **kwargs: Any) -> Any: ...
        def action(self, *args: Any, **kwargs: Any) -> Any: ...
        def list_records(self, *args: Any, **kwargs: Any) -> Any: ...

    def create_customer(self, business_id: str, payload: Mapping[str, Any]) -> Any:
        _warn("create_customer", "create(business_id, 'customer', payload)")
        return self.create(business_id, CUSTOMER, payload)

    def create_vendor(self, business_id: str, payload: Mapping[str, Any]) -> Any:
        _warn("create_vendor", "create(business_id, 'vendor', payload)")
        return self.create(business_id, VENDOR, payload)

    def create_invoice(self, business_id: str, payload: Mapping[str, Any]) -> Any:
        _warn("create_invoice", "create(business_id, 'invoice', payload)")
        return self.create(business_id, INVOICE, payload)

    def create_bill(self, business_id: str, payload: Mapping[str, Any]) -> Any:
        _warn("create_bill", "create(business_id, 'bill', payload)")
        return self.create(business_id, BILL, payload)

    def record_payment(self, business_id: str, payload: Mapping[str, Any], idempotency_key: str) -> Any:
        _warn("record_payment", "create(business_id, 'payment', payload, idempotency_key=...)")
        return self.create(business_id, PAYMENT, payload, idempotency_key=idempotency_key)

    def record_bill_payment(self, business_id: str, payload: Mapping[str, Any], idempotency_key: str) -> Any:
        _warn("record_bill_payment", "create(business_id, 'bill_payment', payload, idempotency_key=...)")
        return self.create(business_id, BILL_PAYMENT, payload, idempotency_key=idempotency_key)

    def void_invoice(self, business_id: str, invoice_id: str) -> Any:
        _warn("void_invoice", "action(business_id, 'invoice', invoice_id, 'void')")
        return self.action(business_id, INVOICE, invoice_id, "void")

    def archive_customer(self, business_id: str, customer_id: str) -> Any:
        _warn("archive_customer", "action(business_id, 'customer', customer_id, 'archive')")
        return self.action(business_id, CUSTOMER, customer_id, "archive")

    def unarchive_vendor(self, business_id: str, vendor_id: str) -> Any:
        _warn("unarchive_vendor", "action(business_id, 'vendor', vendor_id, 'unarchive')")
        return self.action(business_id, VENDOR, vendor_id, "unarchive")

    def list_accounts(self, business_id: str, **filters: Any) -> Any:
        _warn("list_accounts", "list_records(business_id, 'account')")
        return self.list_records(business_id, ACCOUNT, **filters)

    def list_journal_entries(self, business_id: str, **filters: Any) -> Any:
        _warn("list_journal_entries", "list_records(business_id, 'journal_entry')")
        return self.list_records(business_id, JOURNAL_ENTRY, **filters)

    def get_journal_entry(self, business_id: str, entry_id: str) -> Any:
        _warn("get_journal_entry", "get(business_id, 'journal_entry', entry_id)")
        return self.get(business_id, JOURNAL_ENTRY, entry_id)
