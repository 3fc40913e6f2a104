"""Request bodies for invoice payments and bill payments (CONTRACT.md §5.5-5.6, §6).

Money that reaches the ledger: the amounts are strict integer cents and the allocations must fit
inside the payment. Both the API reference's ``total_amount_cents`` and the guides'
``amount_cents`` are accepted; they must agree when both are sent.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from thredfi_provider.sandbox.models import (
    Cents,
    Currency,
    PositiveCents,
    RequestBody,
    RequiredInStrict,
    Text255,
    guide_only,
    parse_date,
)


class InvoiceAllocation(RequestBody):
    invoice_id: str
    amount_cents: PositiveCents


PAYMENT_METHODS = (
    "bank_transfer",
    "credit_card",
    "debit_card",
    "ach",
    "check",
    "cash",
    "paypal",
    "stripe",
    "other",
)


class PaymentCreate(RequestBody):
    external_id: Text255 | None = None
    customer_id: RequiredInStrict[str] = None
    total_amount_cents: RequiredInStrict[PositiveCents] = None
    amount_cents: Annotated[PositiveCents | None, guide_only("send total_amount_cents")] = None  # guides
    payment_date: str
    currency: Currency | None = None
    payment_method: Literal[PAYMENT_METHODS] = "bank_transfer"  # type: ignore[valid-type]
    payment_reference: Annotated[str, Field(max_length=255)] | None = None
    note: str | None = None
    processing_fee_cents: Cents = 0
    allocations: Annotated[list[InvoiceAllocation], Field(max_length=500)] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    _dates = field_validator("payment_date")(parse_date)

    @model_validator(mode="after")
    def _amount(self) -> PaymentCreate:
        if self.total_amount_cents is None and self.amount_cents is None:
            raise ValueError("total_amount_cents is required.")
        both = self.total_amount_cents is not None and self.amount_cents is not None
        if both and self.total_amount_cents != self.amount_cents:
            raise ValueError("total_amount_cents and amount_cents disagree.")
        return self

    @property
    def total(self) -> int:
        return int(self.total_amount_cents if self.total_amount_cents is not None else self.amount_cents or 0)


PAYMENT_STATUSES = ("pending", "processing", "completed", "failed", "cancelled", "refunded")


class PaymentReferences(RequestBody):
    bank_reference: str | None = None
    end_to_end_id: str | None = None
    payment_reference: Annotated[str, Field(max_length=255)] | None = None


class PaymentUpdate(RequestBody):
    """``PATCH B/invoices/payments/{id}/`` (CONTRACT.md §5.6): the create fields plus ``status``,
    ``processor_reference``, ``bank_reference`` and ``transaction_tags``, all optional."""

    external_id: Text255 | None = None
    customer_id: str | None = None
    total_amount_cents: PositiveCents | None = None
    amount_cents: Annotated[PositiveCents | None, guide_only("send total_amount_cents")] = None
    allocations: Annotated[list[InvoiceAllocation], Field(max_length=500)] | None = None
    payment_date: str | None = None
    currency: Currency | None = None
    payment_method: Literal[PAYMENT_METHODS] | None = None  # type: ignore[valid-type]
    payment_reference: Annotated[str, Field(max_length=255)] | None = None
    payment_processor: Annotated[str, Field(max_length=100)] | None = None
    processing_fee_cents: Cents | None = None
    note: str | None = None
    metadata: dict[str, Any] | None = None
    references: PaymentReferences | None = None
    status: Literal[PAYMENT_STATUSES] | None = None  # type: ignore[valid-type]
    processor_reference: str | None = None
    bank_reference: str | None = None
    transaction_tags: list[str] | None = None

    _dates = field_validator("payment_date")(lambda v: None if v is None else parse_date(v))

    @model_validator(mode="after")
    def _amount(self) -> PaymentUpdate:
        both = self.total_amount_cents is not None and self.amount_cents is not None
        if both and self.total_amount_cents != self.amount_cents:
            raise ValueError("total_amount_cents and amount_cents disagree.")
        return self


class BillAllocation(RequestBody):
    bill_id: str
    amount_cents: PositiveCents
    description: str | None = None


BILL_PAYMENT_METHODS = ("bank_transfer", "ach", "wire", "check", "credit_card", "cash", "other")


class BillPaymentCreate(RequestBody):
    external_id: Text255 | None = None
    vendor_id: str
    amount_cents: PositiveCents
    currency: Currency | None = None
    payment_method: Literal[BILL_PAYMENT_METHODS] = "bank_transfer"  # type: ignore[valid-type]
    payment_date: str
    payment_reference: Annotated[str, Field(max_length=100)] | None = None
    check_number: Annotated[str, Field(max_length=50)] | None = None
    description: str | None = None
    memo: str | None = None
    processing_fee_cents: Cents = 0
    allocations: Annotated[list[BillAllocation], Field(max_length=500)] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    _dates = field_validator("payment_date")(parse_date)

    @model_validator(mode="after")
    def _check(self) -> BillPaymentCreate:
        if self.payment_method == "check" and not self.check_number:
            raise ValueError("check_number is required when payment_method is check.")
        return self


BILL_PAYMENT_STATUSES = ("pending", "processing", "completed", "failed", "cancelled", "returned")


class BillPaymentUpdate(RequestBody):
    """``PATCH B/bills/payments/{id}/`` (CONTRACT.md §5.8): the create fields plus ``status`` and
    ``failure_reason``, all optional."""

    external_id: Text255 | None = None
    vendor_id: str | None = None
    amount_cents: PositiveCents | None = None
    currency: Currency | None = None
    payment_method: Literal[BILL_PAYMENT_METHODS] | None = None  # type: ignore[valid-type]
    payment_date: str | None = None
    payment_reference: Annotated[str, Field(max_length=100)] | None = None
    check_number: Annotated[str, Field(max_length=50)] | None = None
    description: str | None = None
    memo: str | None = None
    processing_fee_cents: Cents | None = None
    allocations: Annotated[list[BillAllocation], Field(max_length=500)] | None = None
    metadata: dict[str, Any] | None = None
    status: Literal[BILL_PAYMENT_STATUSES] | None = None  # type: ignore[valid-type]
    failure_reason: str | None = None

    _dates = field_validator("payment_date")(lambda v: None if v is None else parse_date(v))
