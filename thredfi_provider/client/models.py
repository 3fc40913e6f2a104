"""Records users hand to the operators, validated before anything is sent.

Each model accepts the fields the way data engineers hold them (integer ``*_cents``,
``account_code``, ``*_external_id`` references) and also every spelling the published pages use
(CONTRACT.md §10: ``unit_price`` or ``unit_price_cents``, ``account_code`` or an
``account_identifier`` object, ``currency`` or ``base_currency``). It renders the wire payload in
the API reference's spelling only, the one a strict server takes. Validation errors become
:class:`ThredfiRecordError` naming the record and the field, so one bad row is reported and
skipped while the rest of the batch lands.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    model_validator,
)

from thredfi_provider.client.fields import (
    Cents,
    CurrencyCode,
    Date,
    Email,
    ExternalId,
    PositiveCents,
    Text,
)
from thredfi_provider.client.lines import LineItem
from thredfi_provider.client.resources import (
    BILL,
    BILL_PAYMENT,
    BUSINESS,
    CUSTOMER,
    INVOICE,
    PAYMENT,
    VENDOR,
    Resource,
)


class RecordModel(BaseModel):
    """Base: strict about unknown fields, so a typo (``ammount_cents``) is an error, not a silent drop."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)
    resource: ClassVar[Resource]
    # Fields that steer the sync (or are checked here) but are not part of the wire body.
    local_fields: ClassVar[frozenset[str]] = frozenset()

    external_id: ExternalId
    business_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return self.model_dump(exclude={"business_id", *self.local_fields}, exclude_none=True)


class Business(RecordModel):
    resource: ClassVar[Resource] = BUSINESS
    legal_name: Annotated[str, Field(min_length=1, max_length=255)]
    email: Email
    entity_type: Annotated[str, Field(min_length=1, max_length=50)]  # required by the API reference
    country: Annotated[str, Field(min_length=2, max_length=2)] = "GB"
    base_currency: CurrencyCode = "GBP"
    phone_number: str | None = None
    vat_number: Annotated[str, Field(max_length=20)] | None = None
    company_number: Annotated[str, Field(max_length=20)] | None = None
    accounting_method: Annotated[str, Field(pattern="^(cash|accrual)$")] = "accrual"
    fiscal_year_end: Date | None = None

    @model_validator(mode="before")
    @classmethod
    def _currency_alias(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "currency" in data:
            data = dict(data)
            currency = data.pop("currency")
            data.setdefault("base_currency", currency)
        return data

    def payload(self) -> dict[str, Any]:
        body = super().payload()
        body["country"] = self.country.upper()
        return body


class Party(RecordModel):
    """A customer or vendor; one of the names is required."""

    company_name: Annotated[str, Field(max_length=255)] | None = None
    individual_name: Annotated[str, Field(max_length=255)] | None = None
    email: Email | None = None
    mobile_phone: str | None = None
    office_phone: str | None = None
    country: Annotated[str, Field(max_length=2)] | None = None
    vat_number: str | None = None
    payment_terms_days: Annotated[StrictInt, Field(ge=0, le=3650)] | None = None
    credit_limit_cents: Cents | None = None
    notes: Text | None = None
    archived: bool = False  # the source archived it: archive it in Thredfi (customers only)
    local_fields: ClassVar[frozenset[str]] = frozenset({"archived"})

    @model_validator(mode="after")
    def _named(self) -> Party:
        if not (self.company_name or self.individual_name):
            raise ValueError("company_name or individual_name is required")
        return self


class Customer(Party):
    resource: ClassVar[Resource] = CUSTOMER


class Vendor(Party):
    resource: ClassVar[Resource] = VENDOR


class _Document(RecordModel):
    currency: CurrencyCode | None = None
    memo: Text | None = None
    line_items: Annotated[list[LineItem], Field(min_length=1, max_length=500)]
    due_at: Date | None = None

    @property
    def total_cents(self) -> int:
        return sum(round(li.quantity * li.unit_price_cents) - li.discount_cents for li in self.line_items)


class Invoice(_Document):
    resource: ClassVar[Resource] = INVOICE
    customer_id: str | None = None
    customer_external_id: str | None = None
    invoice_number: Annotated[str, Field(max_length=100)] | None = None
    sent_at: Date | None = None
    cancelled: bool = False  # the source cancelled it: void it in Thredfi
    # The API reference's create-invoice has no currency: it is the business's, checked locally.
    local_fields: ClassVar[frozenset[str]] = frozenset({"cancelled", "currency", "customer_external_id"})

    @model_validator(mode="before")
    @classmethod
    def _status(cls, data: Any) -> Any:
        """A source ``status`` of cancelled/void/voided means cancelled; others are not sent."""
        if isinstance(data, Mapping) and "status" in data:
            data = dict(data)
            status = str(data.pop("status") or "").strip().lower()
            if status in {"cancelled", "canceled", "void", "voided"}:
                data["cancelled"] = True
        return data

    @model_validator(mode="after")
    def _customer(self) -> Invoice:
        if not (self.customer_id or self.customer_external_id):
            raise ValueError("customer_id or customer_external_id is required")
        return self

    def payload(self) -> dict[str, Any]:
        return super().payload() | {"line_items": [li.payload() for li in self.line_items]}


class Bill(_Document):
    resource: ClassVar[Resource] = BILL
    local_fields: ClassVar[frozenset[str]] = frozenset({"vendor_external_id"})
    vendor_id: str | None = None
    vendor_external_id: str | None = None
    bill_number: Annotated[str, Field(max_length=100)] | None = None
    vendor_bill_number: str | None = None
    bill_date: Date | None = None

    @model_validator(mode="after")
    def _vendor(self) -> Bill:
        if not (self.vendor_id or self.vendor_external_id):
            raise ValueError("vendor_id or vendor_external_id is required")
        return self

    def payload(self) -> dict[str, Any]:
        return super().payload() | {"line_items": [li.payload() for li in self.line_items]}


class Allocation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    target_id: str | None = None
    target_external_id: str | None = None
    amount_cents: PositiveCents


class InvoiceAllocation(Allocation):
    target_id: str | None = Field(default=None, alias="invoice_id")
    target_external_id: str | None = Field(default=None, alias="invoice_external_id")

    @model_validator(mode="after")
    def _target(self) -> InvoiceAllocation:
        if not (self.target_id or self.target_external_id):
            raise ValueError("invoice_id or invoice_external_id is required")
        return self


class BillAllocation(Allocation):
    target_id: str | None = Field(default=None, alias="bill_id")
    target_external_id: str | None = Field(default=None, alias="bill_external_id")

    @model_validator(mode="after")
    def _target(self) -> BillAllocation:
        if not (self.target_id or self.target_external_id):
            raise ValueError("bill_id or bill_external_id is required")
        return self


class PaymentBase(RecordModel):
    amount_cents: PositiveCents
    payment_date: Date
    currency: CurrencyCode | None = None
    payment_reference: Annotated[str, Field(max_length=100)] | None = None
    processing_fee_cents: Cents = 0

    @model_validator(mode="after")
    def _allocations_fit(self) -> PaymentBase:
        allocations: list[Allocation] = getattr(self, "allocations", [])
        if sum(a.amount_cents for a in allocations) > self.amount_cents:
            raise ValueError("allocations add up to more than amount_cents")
        if self.processing_fee_cents > self.amount_cents:
            raise ValueError("processing_fee_cents exceeds amount_cents")
        return self

    def idempotency_key(self, business_id: str) -> str:
        """Deterministic: the same record always maps to the same key, across retries and reruns."""
        return f"airflow-thredfi:{business_id}:{self.resource.path}:{self.external_id}"


class Payment(PaymentBase):
    resource: ClassVar[Resource] = PAYMENT
    customer_id: str | None = None
    payment_method: Annotated[
        str, Field(pattern="^(bank_transfer|credit_card|debit_card|ach|check|cash|paypal|stripe|other)$")
    ] = "bank_transfer"
    note: Text | None = None
    allocations: Annotated[list[InvoiceAllocation], Field(max_length=500)] = Field(default_factory=list)

    def render(self, customer_id: str, allocation_ids: list[str]) -> dict[str, Any]:
        """The API reference's body: ``total_amount_cents`` and a required ``customer_id``."""
        body = self.model_dump(exclude={"business_id", "allocations", "amount_cents"}, exclude_none=True)
        body["customer_id"] = customer_id
        body["total_amount_cents"] = self.amount_cents
        body["allocations"] = [
            {"invoice_id": target, "amount_cents": a.amount_cents}
            for target, a in zip(allocation_ids, self.allocations, strict=True)
        ]
        return body


class BillPayment(PaymentBase):
    resource: ClassVar[Resource] = BILL_PAYMENT
    vendor_id: str | None = None
    vendor_external_id: str | None = None
    payment_method: Annotated[
        str, Field(pattern="^(bank_transfer|ach|wire|check|credit_card|cash|other)$")
    ] = "bank_transfer"
    check_number: Annotated[str, Field(max_length=50)] | None = None
    description: Text | None = None
    allocations: Annotated[list[BillAllocation], Field(max_length=500)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _vendor_and_check(self) -> BillPayment:
        if not (self.vendor_id or self.vendor_external_id):
            raise ValueError("vendor_id or vendor_external_id is required")
        if self.payment_method == "check" and not self.check_number:
            raise ValueError("check_number is required when payment_method is check")
        return self

    def render(self, vendor_id: str, allocation_ids: list[str]) -> dict[str, Any]:
        body = self.model_dump(
            exclude={"business_id", "allocations", "vendor_external_id"}, exclude_none=True
        )
        body["vendor_id"] = vendor_id
        body["allocations"] = [
            {"bill_id": target, "amount_cents": a.amount_cents}
            for target, a in zip(allocation_ids, self.allocations, strict=True)
        ]
        return body


#: Which model syncs which resource, said once: by each model's ``resource``.
MODELS: dict[str, type[RecordModel]] = {
    m.resource.name: m for m in (Business, Customer, Vendor, Invoice, Payment, Bill, BillPayment)
}


def model_for(resource: Resource) -> type[RecordModel]:
    """The record model that syncs ``resource``; a resource nothing syncs is a ``TypeError``."""
    found = MODELS.get(resource.name)
    if found is None:
        raise TypeError(f"Thredfi {resource.name} records have no record model")
    return found
