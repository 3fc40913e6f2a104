"""A line of an invoice or a bill, in every spelling the published pages use (CONTRACT.md §10)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from thredfi_provider.client.fields import Cents, Text


class AccountIdentifier(BaseModel):
    """The API reference's ``{"id": "<uuid>", "type": "AccountId"}``; a ``code`` is ours to resolve."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str | None = None
    code: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    type: str | None = None

    @model_validator(mode="after")
    def _named(self) -> AccountIdentifier:
        if not (self.id or self.code):
            raise ValueError("account_identifier needs an id (or a code)")
        return self


class LineItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    description: Text | None = None
    quantity: Annotated[float, Field(gt=0, le=1_000_000)] = 1
    unit_price_cents: Cents
    account_code: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    account_identifier: AccountIdentifier | None = None
    discount_cents: Cents = 0

    @model_validator(mode="before")
    @classmethod
    def _spellings(cls, data: Any) -> Any:
        """``unit_price`` (API reference) and ``unit_price_cents`` (guides) are the same cents."""
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        for theirs, ours in (("unit_price", "unit_price_cents"), ("discount_amount", "discount_cents")):
            if theirs in data:
                value = data.pop(theirs)
                if ours in data and data[ours] != value:
                    raise ValueError(f"{theirs} and {ours} disagree ({value!r} != {data[ours]!r})")
                data[ours] = value
        return data

    @field_validator("quantity", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("quantity must be a number")
        return value

    @model_validator(mode="after")
    def _one_account(self) -> LineItem:
        ident = self.account_identifier
        if self.account_code and ident and ident.code and ident.code != self.account_code:
            raise ValueError("account_code and account_identifier.code disagree")
        return self

    @property
    def account_ref(self) -> tuple[str | None, str | None]:
        """(account id, account code): an id is sent as is, a code is resolved per business."""
        ident = self.account_identifier
        return (ident.id if ident else None), self.account_code or (ident.code if ident else None)

    def payload(self, account_id: str | None = None) -> dict[str, Any]:
        """The API reference's line: ``unit_price`` in cents, ``account_identifier`` by id."""
        whole = float(self.quantity).is_integer()
        body: dict[str, Any] = {
            "quantity": int(self.quantity) if whole else self.quantity,
            "unit_price": self.unit_price_cents,
            "discount_amount": self.discount_cents,
        }
        if self.description is not None:
            body["description"] = self.description
        if account_id is not None:
            body["account_identifier"] = {"id": account_id, "type": "AccountId"}
        return body
