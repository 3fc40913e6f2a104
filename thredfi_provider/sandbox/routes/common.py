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
from thredfi_provider.sandbox.state import SandboxState, body_hash, new_id, state_of
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
