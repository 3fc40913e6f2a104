"""Is what Thredfi holds what the source says? Field by field, after normalising both sides.

A sync that cannot tell "unchanged" from "changed" either rewrites everything on every run or
lets edits vanish. Both sides are brought to one form first: integer cents, ``YYYY-MM-DD``
dates, each published spelling of a field (``unit_price``/``unit_price_cents``,
``total_amount_cents``/``total_amount``, ``customer_id``/``customer.id`` ...), line items in
order, allocations as a set, case-folded enums. Only the fields the source sends are compared,
so a field Thredfi adds (totals, timestamps) is never a difference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from thredfi_provider.client.resources import Resource, resolve

# A field the held record does not show (a list shape, an older server): not a difference, but
# a reason to read the record itself before deciding.
UNKNOWN = object()


def _date(value: Any) -> Any:
    if value in (None, ""):
        return None
    text = str(value)
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        return text


def _text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _fold(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _number(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _first(record: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in record:
            return record[name]
    return UNKNOWN


def party_id(record: Mapping[str, Any], kind: str) -> Any:
    value = _first(record, f"{kind}_id")
    if value is UNKNOWN and isinstance(record.get(kind), Mapping):
        return record[kind].get("id", UNKNOWN)
    return value


def _line(line: Mapping[str, Any]) -> dict[str, Any]:
    ident = line.get("account_identifier")
    account_id = ident.get("id") if isinstance(ident, Mapping) else None
    return {
        "description": _text(line.get("description")),
        "quantity": _number(line.get("quantity", 1)),
        "unit_price": _first(line, "unit_price", "unit_price_cents"),
        "discount_amount": line.get("discount_amount", line.get("discount_cents", 0)) or 0,
        "account": account_id if account_id else line.get("account_code", UNKNOWN),
    }


def _lines(record: Mapping[str, Any]) -> Any:
    lines = record.get("line_items", UNKNOWN)
    return [_line(x) for x in lines] if isinstance(lines, list) else UNKNOWN


def _allocations(record: Mapping[str, Any], target: str) -> Any:
    """``{target_id: cents}`` from ``allocations`` (create/list shapes) or ``applied_invoices``."""
    items = record.get("allocations")
    if isinstance(items, list):
        found: dict[str, Any] = {}
        for item in items:
            if "amount_cents" not in item:
                return UNKNOWN  # the list shape's ``amount`` has no published unit
            key = str(item.get(f"{target}_id"))
            found[key] = found.get(key, 0) + item["amount_cents"]
        return found
    applied = record.get("applied_invoices") if target == "invoice" else record.get("applied_bills")
    if isinstance(applied, list):
        return {str(a.get("id")): a.get("applied_amount_cents") or 0 for a in applied}
    return UNKNOWN


Reader = Callable[[Mapping[str, Any]], Any]


def _field(*names: str, norm: Callable[[Any], Any] = _text) -> Reader:
    def read(record: Mapping[str, Any]) -> Any:
        value = _first(record, *names)
        return value if value is UNKNOWN else norm(value)

    return read


_PARTY: dict[str, Reader] = {
    name: _field(name)
    for name in ("company_name", "individual_name", "email", "mobile_phone", "office_phone", "vat_number",
                 "payment_terms_days", "credit_limit_cents", "notes")
} | {"country": _field("country", norm=_fold)}  # fmt: skip

FIELDS: dict[str, dict[str, Reader]] = {
    "businesses": {
        "legal_name": _field("legal_name"),
        "email": _field("email", norm=_fold),
        "entity_type": _field("entity_type", norm=_fold),
        "country": _field("country", norm=_fold),
        "base_currency": _field("base_currency", "currency", norm=_fold),
        "phone_number": _field("phone_number"),
        "vat_number": _field("vat_number"),
        "company_number": _field("company_number"),
        "accounting_method": _field("accounting_method", norm=_fold),
        "fiscal_year_end": _field("fiscal_year_end", norm=_date),
    },
    "customers": _PARTY,
    "vendors": _PARTY,
    "invoices": {
        "customer_id": lambda r: party_id(r, "customer"),
        "invoice_number": _field("invoice_number"),
        "sent_at": _field("sent_at", norm=_date),
        "due_at": _field("due_at", norm=_date),
        "memo": _field("memo"),
        "line_items": _lines,
    },
    "bills": {
        "vendor_id": lambda r: party_id(r, "vendor"),
        "bill_number": _field("bill_number"),
        "vendor_bill_number": _field("vendor_bill_number"),
        "bill_date": _field("bill_date", "issue_date", norm=_date),
        "due_at": _field("due_at", norm=_date),
        "memo": _field("memo"),
        "currency": _field("currency", norm=_fold),
        "line_items": _lines,
    },
    "invoices/payments": {
        "customer_id": lambda r: party_id(r, "customer"),
        "total_amount_cents": _field("total_amount_cents", "amount_cents", norm=lambda v: v),
        "payment_date": _field("payment_date", norm=_date),
        "payment_method": _field("payment_method", norm=_fold),
        "payment_reference": _field("payment_reference"),
        "note": _field("note"),
        "processing_fee_cents": _field("processing_fee_cents", norm=lambda v: v),
        "currency": _field("currency", norm=_fold),
        "allocations": lambda r: _allocations(r, "invoice"),
    },
    "bills/payments": {
        "vendor_id": lambda r: party_id(r, "vendor"),
        "amount_cents": _field("amount_cents", "total_amount_cents", norm=lambda v: v),
        "payment_date": _field("payment_date", norm=_date),
        "payment_method": _field("payment_method", norm=_fold),
        "payment_reference": _field("payment_reference"),
        "check_number": _field("check_number"),
        "description": _field("description"),
        "processing_fee_cents": _field("processing_fee_cents", norm=lambda v: v),
        "currency": _field("currency", norm=_fold),
        "allocations": lambda r: _allocations(r, "bill"),
    },
}


Differences = dict[str, tuple[Any, Any]]


def differences(resource: Resource | str, sent: Mapping[str, Any], held: Mapping[str, Any]) -> Differences:
    """``{field: (held, sent)}`` for every compared field the source sends that differs.

    A field the held record does not show maps to ``(UNKNOWN, sent)``: read the record itself
    (not its list form) before deciding.
    """
    found: dict[str, tuple[Any, Any]] = {}
    for name, read in FIELDS.get(resolve(resource).path, {}).items():
        ours = read(sent)
        if ours is UNKNOWN or ours is None or ours == "":
            continue
        theirs = read(held)
        if theirs is UNKNOWN:
            found[name] = (UNKNOWN, ours)
        elif name == "line_items":
            found.update(_line_differences(theirs, ours))
        elif theirs != ours:
            found[name] = (theirs, ours)
    metadata = sent.get("metadata")
    if metadata and "metadata" in held and held["metadata"] != metadata:
        found["metadata"] = (held["metadata"], metadata)
    return found


def _line_differences(held: list[dict[str, Any]], sent: list[dict[str, Any]]) -> Differences:
    if len(held) != len(sent):
        return {"line_items": (f"{len(held)} lines", f"{len(sent)} lines")}
    found: dict[str, tuple[Any, Any]] = {}
    for index, (theirs, ours) in enumerate(zip(held, sent, strict=True)):
        for key, value in ours.items():
            if value is UNKNOWN or (key == "description" and value is None):
                continue
            if theirs[key] is UNKNOWN:
                continue  # the server does not show it; nothing to compare against
            if theirs[key] != value:
                found[f"line_items[{index}].{key}"] = (theirs[key], value)
    return found


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN
