"""The one list of Thredfi resources: where each lives, how its body is wrapped, its model.

The client builds paths and unwraps bodies from it, the record models name their resource
from it, and the sensor and trigger resolve what they watch through it, so adding a resource
(or learning that another endpoint wraps its body) is a change in one place. Import-light on
purpose: the models are imported only when :meth:`Resource.model` is called.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from thredfi_provider.client.errors import ThredfiValidationError
from thredfi_provider.client.urls import segment

if TYPE_CHECKING:
    from thredfi_provider.client.models import (
        Bill,
        BillPayment,
        Business,
        Customer,
        Invoice,
        Payment,
        RecordModel,
        Vendor,
    )

M = TypeVar("M", bound="RecordModel")


@dataclass(frozen=True)
class Resource(Generic[M]):
    """One Thredfi resource.

    :param name: what the sensor calls it (``payment``).
    :param path: below the business (``invoices/payments``); the businesses list itself for ``business``.
    :param wrapper: the key some endpoints wrap one record in (``{"payment": {...}}``).
    :param model_name: its record model in :mod:`thredfi_provider.client.models`, if it is synced.
    """

    name: str
    path: str
    wrapper: str | None = None
    model_name: str | None = None

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

    def model(self) -> type[M]:
        if self.model_name is None:
            raise TypeError(f"Thredfi {self.name} records have no record model")
        models = importlib.import_module("thredfi_provider.client.models")
        return cast("type[M]", getattr(models, self.model_name))


BUSINESS: Resource[Business] = Resource("business", "businesses", model_name="Business")
CUSTOMER: Resource[Customer] = Resource("customer", "customers", model_name="Customer")
VENDOR: Resource[Vendor] = Resource("vendor", "vendors", model_name="Vendor")
INVOICE: Resource[Invoice] = Resource("invoice", "invoices", model_name="Invoice")
PAYMENT: Resource[Payment] = Resource("payment", "invoices/payments", wrapper="payment", model_name="Payment")
BILL: Resource[Bill] = Resource("bill", "bills", model_name="Bill")
# Tolerant reader: the contract wraps invoice payments; a bill payment wrapped the same way is read too.
BILL_PAYMENT: Resource[BillPayment] = Resource(
    "bill_payment", "bills/payments", wrapper="payment", model_name="BillPayment"
)
JOURNAL_ENTRY: Resource[Any] = Resource("journal_entry", "general-ledger/journal-entries")
ACCOUNT: Resource[Any] = Resource("account", "general-ledger/chart-of-accounts")

RESOURCES: dict[str, Resource[Any]] = {
    r.name: r
    for r in (BUSINESS, CUSTOMER, VENDOR, INVOICE, PAYMENT, BILL, BILL_PAYMENT, JOURNAL_ENTRY, ACCOUNT)
}
_BY_PATH = {r.path: r for r in RESOURCES.values()}


def resolve(resource: Resource[Any] | str) -> Resource[Any]:
    """A resource by itself, its name (``payment``) or its path (``invoices/payments``).

    A path the registry does not know is still a resource (the generic operator may reach
    one the provider has no model for), with no wrapper and no model.
    """
    if isinstance(resource, Resource):
        return resource
    found = RESOURCES.get(resource) or _BY_PATH.get(resource.strip("/"))
    return found if found is not None else Resource(resource.strip("/"), resource.strip("/"))
