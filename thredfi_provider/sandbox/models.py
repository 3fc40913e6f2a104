"""Request bodies the sandbox accepts, published in its OpenAPI schema.

Where the published pages disagree (CONTRACT.md §10) both spellings are accepted:
``currency``/``base_currency``, ``unit_price``/``unit_price_cents``,
``total_amount_cents``/``amount_cents``. Money is strict integer cents: a float or a
string is a validation error, as it should be for an accounting ledger.

In strict mode (``STRICT`` set for the request) a field marked ``guide_only`` is refused and a
field typed ``RequiredInStrict`` is required, as the API reference has them.
"""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

MAX_CENTS = 100_000_000_000  # one billion in major units: anything above is a unit mistake
CURRENCIES = ("GBP", "EUR", "USD", "SEK", "NOK", "DKK", "ISK", "MYR", "SGD")
Cents = Annotated[StrictInt, Field(ge=0, le=MAX_CENTS)]
PositiveCents = Annotated[StrictInt, Field(ge=1, le=MAX_CENTS)]
Text255 = Annotated[str, Field(min_length=1, max_length=255)]
Currency = Annotated[str, Field(min_length=3, max_length=3)]

# Set per request by the app when the sandbox runs strict: body validation cannot see the app.
STRICT: ContextVar[bool] = ContextVar("thredfi_sandbox_strict", default=False)
T = TypeVar("T")


def _required_when_strict(value: Any) -> Any:
    if STRICT.get():
        if value is None:
            raise PydanticCustomError("missing", "Field required")
        if isinstance(value, str) and not value:
            raise PydanticCustomError("blank", "This field may not be blank.")
    return value


# Optional by default, required (and not blank) in strict mode, where the API reference requires it.
RequiredInStrict = Annotated[T | None, Field(validate_default=True), AfterValidator(_required_when_strict)]


def guide_only(api_reference: str) -> BeforeValidator:
    """A field only the guides send: refused in strict mode, naming what the API reference uses."""

    def refuse_when_strict(value: Any) -> Any:
        if STRICT.get():
            raise PydanticCustomError("guide_only", f"Not in the API reference: {api_reference}.")
        return value

    return BeforeValidator(refuse_when_strict)


def parse_date(value: Any) -> str:
    """Accept ``YYYY-MM-DD`` or an ISO 8601 date-time; normalise to the date part."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise ValueError("Enter a valid date (YYYY-MM-DD).")
    text = value.strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text).isoformat()
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        raise ValueError("Enter a valid date (YYYY-MM-DD).") from None


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


class TokenRequest(RequestBody):
    grant_type: str = "client_credentials"
    client_id: RequiredInStrict[str] = None


class BusinessCreate(RequestBody):
    external_id: Text255
    legal_name: Text255
    entity_type: RequiredInStrict[str] = None
    email: Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    country: Annotated[str, Field(min_length=2, max_length=2)] = "GB"
    base_currency: Currency | None = None
    currency: Annotated[Currency | None, guide_only("send base_currency")] = None
    registration_number: Annotated[Any, guide_only("send company_number")] = None  # old onboarding
    address: Annotated[Any, guide_only("a business has no address object")] = None  # old onboarding
    phone_number: str | None = None
    tin: str | None = None
    vat_number: Annotated[str, Field(max_length=20)] | None = None
    company_number: Annotated[str, Field(max_length=20)] | None = None
    province: Annotated[str, Field(max_length=100)] | None = None
    eu_nace_industry_code: Annotated[str, Field(max_length=10)] | None = None
    accounting_method: Literal["cash", "accrual"] = "accrual"
    fiscal_year_end: dt.date | None = None
    coa_language: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class BusinessUpdate(RequestBody):
    legal_name: Text255 | None = None
    entity_type: str | None = None
    phone_number: str | None = None
    tin: str | None = None
    vat_number: Annotated[str, Field(max_length=20)] | None = None
    company_number: Annotated[str, Field(max_length=20)] | None = None
    province: Annotated[str, Field(max_length=100)] | None = None
    eu_nace_industry_code: Annotated[str, Field(max_length=10)] | None = None
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    accounting_method: Literal["cash", "accrual"] | None = None
    fiscal_year_end: dt.date | None = None
    metadata: dict[str, Any] | None = None


class PartyCreate(RequestBody):
    """Customers and vendors share this shape; one of the two names is required."""

    external_id: Text255 | None = None
    individual_name: Annotated[str, Field(max_length=255)] | None = None
    company_name: Annotated[str, Field(max_length=255)] | None = None
    name: Annotated[  # verify-integration guide
        Annotated[str, Field(max_length=255)] | None, guide_only("send individual_name or company_name")
    ] = None
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    mobile_phone: str | None = None
    office_phone: str | None = None
    country: Annotated[str, Field(max_length=2)] | None = None
    vat_number: str | None = None
    reference_number: str | None = None
    tax_exempt: bool = False
    payment_terms_days: Annotated[StrictInt, Field(ge=0, le=3650)] | None = None
    credit_limit_cents: Cents | None = None
    transaction_tags: list[str] = Field(default_factory=list)
    notes: str | None = None
    memo: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_name(self) -> PartyCreate:
        if not (self.individual_name or self.company_name or self.name):
            raise ValueError("One of individual_name or company_name is required.")
        return self


class LineItem(RequestBody):
    description: Annotated[str, Field(max_length=1000)] | None = None
    quantity: Annotated[float, Field(gt=0, le=1_000_000)] = 1
    unit_price_cents: Annotated[Cents | None, guide_only("send unit_price")] = None
    unit_price: RequiredInStrict[Cents] = None
    account_code: Annotated[
        Annotated[str, Field(max_length=20)] | None, guide_only("send account_identifier with an account id")
    ] = None
    account_identifier: dict[str, Any] | None = None
    external_id: str | None = None
    product: str | None = None
    discount_amount: Cents = 0

    @model_validator(mode="after")
    def _price(self) -> LineItem:
        if self.unit_price_cents is None and self.unit_price is None:
            raise ValueError("unit_price_cents (or unit_price) is required.")
        return self

    @property
    def price(self) -> int:
        return self.unit_price_cents if self.unit_price_cents is not None else int(self.unit_price or 0)


def _not_modelled(value: int) -> int:
    if value:
        raise PydanticCustomError(
            "not_modelled",
            "The sandbox does not model invoice-level discounts, taxes or tips: send 0 and put the"
            " amount on a line item.",
        )
    return value


# additional_discount, additional_sales_taxes_total, tips (CONTRACT.md §5.5): accepted as 0 only,
# rather than ignored, so an invoice total never silently differs from the one the API computes.
NotModelledCents = Annotated[Cents, AfterValidator(_not_modelled)]


class InvoiceCreate(RequestBody):
    external_id: Text255 | None = None
    customer_id: str | None = None
    customer_external_id: str | None = None
    invoice_number: Annotated[str, Field(max_length=100)] | None = None
    invoice_type: Literal["invoice"] = "invoice"
    sent_at: str | None = None
    due_at: str | None = None
    # The guides send a currency; the API reference's create-invoice schema has none.
    currency: Annotated[Currency | None, guide_only("an invoice takes the business base currency")] = None
    memo: Annotated[str, Field(max_length=5000)] | None = None
    line_items: Annotated[list[LineItem], Field(min_length=1, max_length=500)]
    additional_discount: NotModelledCents = 0
    additional_sales_taxes_total: NotModelledCents = 0
    tips: NotModelledCents = 0
    transaction_tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    _dates = field_validator("sent_at", "due_at")(lambda v: None if v is None else parse_date(v))

    @model_validator(mode="after")
    def _customer(self) -> InvoiceCreate:
        if not (self.customer_id or self.customer_external_id):
            raise ValueError("customer_id or customer_external_id is required.")
        return self


# A create field update-invoice does not list (CONTRACT.md §5.5): refused in strict mode with a
# 400 naming it, so a client that sends it learns so in its tests, not by a field that never moves.
_NOT_IN_UPDATE = guide_only("update-invoice does not list it (a create field)")


class InvoiceUpdate(RequestBody):
    """``PUT B/invoices/{id}/`` (CONTRACT.md §5.5). A field left out keeps its value; sent
    ``line_items`` replace every line (as update-bill says of bills, §5.8). ``sent_at``,
    ``customer_external_id``, ``transaction_tags`` and ``metadata`` are create fields the update
    schema does not list: applied by default, refused (400) in strict mode."""

    external_id: Text255 | None = None
    customer_id: str | None = None
    customer_external_id: Annotated[str | None, _NOT_IN_UPDATE] = None
    invoice_number: Annotated[str, Field(max_length=100)] | None = None
    invoice_type: Literal["invoice"] = "invoice"
    sent_at: Annotated[str | None, _NOT_IN_UPDATE] = None
    due_at: str | None = None
    currency: Annotated[Currency | None, guide_only("an invoice takes the business base currency")] = None
    memo: Annotated[str, Field(max_length=5000)] | None = None
    line_items: Annotated[list[LineItem], Field(min_length=1, max_length=500)] | None = None
    additional_discount: NotModelledCents = 0
    additional_sales_taxes_total: NotModelledCents = 0
    tips: NotModelledCents = 0
    transaction_tags: Annotated[list[str] | None, _NOT_IN_UPDATE] = None
    metadata: Annotated[dict[str, Any] | None, _NOT_IN_UPDATE] = None

    _dates = field_validator("sent_at", "due_at")(lambda v: None if v is None else parse_date(v))


class BillCreate(RequestBody):
    external_id: Text255 | None = None
    vendor_id: str | None = None
    vendor_external_id: str | None = None
    bill_number: Annotated[str, Field(max_length=100)] | None = None
    vendor_bill_number: str | None = None
    bill_date: str | None = None
    due_at: str | None = None
    currency: Currency | None = None
    memo: str | None = None
    line_items: Annotated[list[LineItem], Field(min_length=1, max_length=500)]
    metadata: dict[str, Any] = Field(default_factory=dict)

    _dates = field_validator("bill_date", "due_at")(lambda v: None if v is None else parse_date(v))

    @model_validator(mode="after")
    def _vendor(self) -> BillCreate:
        if not (self.vendor_id or self.vendor_external_id):
            raise ValueError("vendor_id or vendor_external_id is required.")
        return self


class BillUpdate(RequestBody):
    """``PUT B/bills/{id}/`` (CONTRACT.md §5.8): a field left out keeps its value; sent
    ``line_items`` delete and replace every line, omitted ones stay as they are."""

    external_id: Text255 | None = None
    vendor_id: str | None = None
    vendor_external_id: str | None = None
    bill_number: Annotated[str, Field(max_length=100)] | None = None
    vendor_bill_number: str | None = None
    bill_date: str | None = None
    due_at: str | None = None
    currency: Currency | None = None
    memo: str | None = None
    line_items: Annotated[list[LineItem], Field(min_length=1, max_length=500)] | None = None
    metadata: dict[str, Any] | None = None

    _dates = field_validator("bill_date", "due_at")(lambda v: None if v is None else parse_date(v))
