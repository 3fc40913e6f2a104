"""The one vocabulary of Thredfi resources: names, paths, body wrappers, dates and status rules.

The client builds paths and unwraps bodies from it; the sensor, the sync and reconcile operators
and the business lookups name resources, find their date field and read a record's status
through it, so adding a resource (or learning another status spelling) is a change in one
place. One spelling is accepted everywhere: the singular ``name`` (``bill_payment``). The
plural (``bill_payments``) and the path (``bills/payments``) still resolve, and the operators
warn when a DAG uses the plural. Which record model syncs a resource is said once, by the
model (``client/models.py``), so this module imports no model and no pydantic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from thredfi_provider.client.errors import ThredfiValidationError
from thredfi_provider.client.urls import segment

# A document whose amounts are settled: editing or voiding it would rewrite history.
SETTLED = frozenset({"paid", "partially_paid", "partial", "partially paid"})
# The ways Thredfi's pages spell a voided document.
VOID = frozenset({"void", "voided", "cancelled", "canceled"})


@dataclass(frozen=True)
class Resource:
    """One Thredfi resource.

    :param name: the one spelling (``payment``): the sensor's and reconcile's ``resource``.
    :param path: below the business (``invoices/payments``); the businesses list itself for ``business``.
    :param plural: the old plural spelling (``payments``), still resolved.
    :param wrapper: the key some endpoints wrap one record in (``{"payment": {...}}``).
    :param date_field: the date a window of records is taken on (``sent_at``), if it has one.
    :param actions: the state changes Thredfi publishes for it (``void``, ``archive``,
        ``unarchive``); a change the source asks for outside these is a conflict.
    """

    name: str
    path: str
    plural: str = ""
    wrapper: str | None = None
    date_field: str | None = None
    actions: frozenset[str] = frozenset()

    @property
    def archivable(self) -> bool:
        """Whether its records can be archived (a full read must ask for archived ones too)."""
        return bool(self.actions & {"archive", "unarchive"})

    @property
    def removal(self) -> tuple[str, str] | None:
        """How mirror mode removes a record that left the source: (the action, the state it reaches)."""
        if "void" in self.actions:
            return "void", "void"
        if "archive" in self.actions:
            return "archive", "archived"
        return None

    def is_removed(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` is already in the state :attr:`removal` reaches."""
        reached = self.removal[1] if self.removal else None
        return self.is_void(record) if reached == "void" else self.is_archived(record)

    @staticmethod
    def status_of(record: Mapping[str, Any]) -> str:
        """A record's status, folded: Thredfi writes ``SENT`` on some pages and ``sent`` on others."""
        return str(record.get("status") or "").strip().lower()

    def is_void(self, record: Mapping[str, Any]) -> bool:
        return self.status_of(record) in VOID

    def is_settled(self, record: Mapping[str, Any]) -> bool:
        return self.status_of(record) in SETTLED

    def is_archived(self, record: Mapping[str, Any]) -> bool:
        """Archived in any of the published spellings: a flag, another flag, or a status."""
        flagged = record.get("is_archived") or record.get("archived")
        return bool(flagged) or self.status_of(record) == "archived"

    @property
    def business_scoped(self) -> bool:
        return self.name != "business"

    def token_scope(self, business_id: str | None) -> str | None:
        """Whose token a call carries: the business's, or the partner's for businesses themselves."""
        return business_id if self.business_scoped else None

    def collection(self, business_id: str | None = None) -> str:
        """The list endpoint, with ``business_id`` checked as one path segment."""
        if not self.business_scoped:
            return "businesses/"
        if business_id is None:
            raise ThredfiValidationError(f"a {self.name} lives under a business: business_id is required")
        return f"businesses/{segment(business_id, 'business_id')}/{self.path}/"

    def item(self, business_id: str | None, record_id: str, action: str | None = None) -> str:
        path = f"{self.collection(business_id)}{segment(record_id, 'id')}/"
        return f"{path}{segment(action, 'action')}/" if action else path

    def unwrap(self, body: Any) -> Any:
        """One record out of the endpoint's body, however this resource wraps it."""
        if self.wrapper and isinstance(body, dict) and isinstance(body.get(self.wrapper), dict):
            return body[self.wrapper]
        return body


BUSINESS = Resource("business", "businesses", plural="businesses")
CUSTOMER = Resource("customer", "customers", plural="customers", actions=frozenset({"archive"}))
VENDOR = Resource("vendor", "vendors", plural="vendors", actions=frozenset({"unarchive"}))
INVOICE = Resource(
    "invoice", "invoices", plural="invoices", date_field="sent_at", actions=frozenset({"void"})
)
PAYMENT = Resource(
    "payment", "invoices/payments", plural="payments", wrapper="payment", date_field="payment_date"
)
BILL = Resource("bill", "bills", plural="bills", date_field="bill_date")
# Tolerant reader: the contract wraps invoice payments; a bill payment wrapped the same way is read too.
BILL_PAYMENT = Resource(
    "bill_payment", "bills/payments", plural="bill_payments", wrapper="payment", date_field="payment_date"
)
JOURNAL_ENTRY = Resource("journal_entry", "general-ledger/journal-entries", plural="journal_entries")
ACCOUNT = Resource("account", "general-ledger/chart-of-accounts", plural="accounts")

RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (BUSINESS, CUSTOMER, VENDOR, INVOICE, PAYMENT, BILL, BILL_PAYMENT, JOURNAL_ENTRY, ACCOUNT)
}
_BY_PLURAL = {r.plural: r for r in RESOURCES.values()}
_BY_PATH = {r.path: r for r in RESOURCES.values()}


def named(name: str) -> Resource | None:
    """A resource by its one spelling; ``None`` for anything else (see :func:`old_spelling`)."""
    return RESOURCES.get(name)


def old_spelling(name: str) -> Resource | None:
    """The resource an old spelling (the plural ``bill_payments``, the path) means, if any."""
    return _BY_PLURAL.get(name) or _BY_PATH.get(name.strip("/"))


def resolve(resource: Resource | str) -> Resource:
    """A resource by itself, its name (``payment``), its plural or its path (``invoices/payments``).

    A path the registry does not know is still a resource (the generic operator may reach
    one the provider has no model for), with no wrapper and no model.
    """
    if isinstance(resource, Resource):
        return resource
    found = RESOURCES.get(resource) or old_spelling(resource)
    return found if found is not None else Resource(resource.strip("/"), resource.strip("/"))
