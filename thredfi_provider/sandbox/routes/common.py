"""Helpers shared by the business-scoped routes: idempotent creates and money maths."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from thredfi_provider.sandbox import ledger
from thredfi_provider.sandbox.errors import ApiError, validation
from thredfi_provider.sandbox.models import LineItem
from thredfi_provider.sandbox.state import SandboxState, body_hash, new_id, state_of, touched
from thredfi_provider.sandbox.store import Record


def existing_by_external_id(
    state: SandboxState, kind: str, business_id: str, external_id: str | None
) -> Record | None:
    if not external_id:
        return None
    return state.store.by_external_id(kind, business_id, external_id)


def with_idempotency_key(
    request: Request, business_id: str, payload: Any, create: Callable[[], tuple[int, Record]]
) -> JSONResponse:
    """Replay the cached response for a repeated ``Idempotency-Key``; 409 if the body changed."""
    state = state_of(request)
    key = request.headers.get("Idempotency-Key")
    scope = f"{business_id}:{request.url.path}"
    digest = body_hash(payload)
    if key:
        cached = state.store.idempotency.get((scope, key))
        if cached is not None:
            if cached["hash"] != digest:
                raise ApiError(
                    409,
                    "idempotency_key_conflict",
                    "Idempotency-Key was already used with a different request body.",
                )
            return JSONResponse(cached["body"], status_code=200, headers={"Idempotent-Replayed": "true"})
    status, body = create()
    if key and status == 201:
        state.store.remember(scope, key, {"hash": digest, "body": body})
    return JSONResponse(body, status_code=status)


# ---------------------------------------------------------------- updates (docs/sandbox.md,
# "Updates, voids and what is refused")

# The bill-payment status transitions update-bill-payment publishes (CONTRACT.md §5.8), applied
# to invoice payments too, whose page publishes none. Every other status is terminal.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"processing", "completed", "failed", "cancelled"}),
    "processing": frozenset({"completed", "failed"}),
}
LOCKED_DOCUMENT_STATUSES = ("partially_paid", "paid", "void")


def refuse_locked_document(doc: Record, number: str, error_code: str, action: str, why: str) -> None:
    """409 for an edit or void of an invoice or bill that has payments or is void."""
    noun = "Invoice" if doc["type"] == "Invoice" else "Bill"
    if doc["status"] in LOCKED_DOCUMENT_STATUSES or doc.get("amount_paid_cents"):
        raise ApiError(
            409,
            error_code,
            f"{noun} {doc[number]} is {doc['status']} and cannot be {action}: {why}",
            {"status": [f"{noun} is {doc['status']}."]},
        )


def check_external_id_free(
    state: SandboxState, kind: str, business_id: str, record_id: str, external_id: str | None
) -> None:
    """An update may change a record's ``external_id``, but not to one another record holds."""
    if not external_id:
        return
    other = state.store.by_external_id(kind, business_id, external_id)
    if other is not None and other["id"] != record_id:
        message = f"external_id {external_id!r} is already used by another record of this business."
        raise ApiError(409, "duplicate_external_id", message, {"external_id": [message]})


def keep_unchanged_lines(stored: list[Record], rendered: list[Record]) -> list[Record]:
    """Re-rendered line items, or the stored ones (ids kept) when the request changed nothing."""

    def content(lines: list[Record]) -> list[Record]:
        return [{k: v for k, v in line.items() if k != "id"} for line in lines]

    return stored if content(stored) == content(rendered) else rendered


def save_if_changed(state: SandboxState, kind: str, before: Record, after: Record) -> Record:
    """Store an update and move ``updated_at`` on, unless it changed nothing (a replayed PUT or
    PATCH leaves the record, and so ``updated_at``, as it was)."""
    if after == before:
        return before
    after["updated_at"] = touched(before.get("updated_at"))
    return state.store.put(kind, after)


def refuse_payment_changes(payment: Record, changed: list[str]) -> None:
    """409 when a PATCH would change the money a payment moved (it is posted to the ledger)."""
    if changed:
        raise ApiError(
            409,
            "payment_not_editable",
            f"Payment is {payment['status']}: {', '.join(changed)} cannot be changed;"
            " completed payments must be refunded instead.",
            {name: [f"Cannot be changed on a {payment['status']} payment."] for name in changed},
        )


def check_status_change(current: str, requested: str | None) -> None:
    if requested is None or requested == current:
        return
    if requested not in STATUS_TRANSITIONS.get(current, frozenset()):
        message = f"A payment cannot move from {current} to {requested}."
        raise ApiError(409, "invalid_status_transition", message, {"status": [message]})


def line_total(line: LineItem) -> int:
    """Quantity may be fractional (hours); the line total is rounded half-even to whole cents."""
    gross = (Decimal(str(line.quantity)) * line.price).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    total = int(gross) - line.discount_amount
    if total < 0:
        raise validation("line_items.discount_amount", "Discount exceeds the line amount.")
    return total


def check_currency(business: Record, currency: str | None, field: str = "currency") -> None:
    if currency and currency.upper() != business["base_currency"]:
        raise validation(
            field, f"Currency must equal the business base currency {business['base_currency']}."
        )


def split_ids(value: str | None) -> set[str]:
    return {v.strip() for v in value.split(",") if v.strip()} if value else set()


def resolve_party(
    state: SandboxState,
    kind: str,
    business_id: str,
    party_id: str | None,
    external_id: str | None,
    field: str,
) -> Record:
    record = state.store.get(kind, party_id) if party_id else None
    if record is None and external_id:
        record = state.store.by_external_id(kind, business_id, external_id)
    if record is None or record["business_id"] != business_id:
        raise validation(field, f"{kind[:-1].title()} not found in this business.")
    return record


def in_range(value: str | None, start: str | None, end: str | None) -> bool:
    if not start and not end:
        return True
    if not value:
        return False
    day = str(value)[:10]
    return (not start or day >= start[:10]) and (not end or day <= end[:10])


def _line_account(
    state: SandboxState, business_id: str, line: LineItem, index: int, default_code: str, kinds: set[str]
) -> Record:
    """The line's ledger account: by the API reference's ``account_identifier``
    ``{"id": ..., "type": "AccountId"}`` when it names an id (the only form strict mode takes);
    otherwise, by default, by the guides' ``account_code`` (or an identifier's ``code``)."""
    identifier = line.account_identifier
    if identifier is not None and (state.config.strict or "id" in identifier):
        field = f"line_items.{index}.account_identifier"
        acc = state.store.get("accounts", str(identifier.get("id")))
        if acc is None or acc["business_id"] != business_id or acc["account_type"] not in kinds:
            raise validation(
                field, f"Expected the id of a {' or '.join(sorted(kinds))} account of this business."
            )
        return acc
    code = line.account_code or str((identifier or {}).get("code") or default_code)
    return ledger.require_account(state, business_id, code, f"line_items.{index}.account_code", kinds)


def render_lines(
    state: SandboxState,
    business_id: str,
    lines: list[LineItem],
    parent: str,
    default_code: str,
    kinds: set[str],
) -> list[Record]:
    rendered = []
    for index, line in enumerate(lines):
        acc = _line_account(state, business_id, line, index, default_code, kinds)
        code = acc["code"]
        rendered.append(
            {
                "id": new_id(),
                parent: None,
                "external_id": line.external_id,
                "description": line.description,
                "product": line.product,
                "quantity": line.quantity,
                "unit_price": line.price,
                "unit_price_cents": line.price,
                "discount_amount": line.discount_amount,
                "account_code": code,
                "account_identifier": {"id": acc["id"], "type": "AccountId"},
                "total_amount_cents": line_total(line),
            }
        )
    return rendered
