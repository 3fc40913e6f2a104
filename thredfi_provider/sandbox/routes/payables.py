"""Bills: create, list, get and full update (PUT); bill payments are in ``bill_payments``.

A bill's ledger posting follows the bill: a PUT that changes its amounts, accounts or date
reverses what is posted and posts what it now says (``ledger.repost``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from thredfi_provider.sandbox import ledger
from thredfi_provider.sandbox.errors import ApiError
from thredfi_provider.sandbox.models import BillCreate, BillUpdate
from thredfi_provider.sandbox.routes.common import (
    check_currency,
    check_external_id_free,
    existing_by_external_id,
    in_range,
    keep_unchanged_lines,
    refuse_locked_document,
    render_lines,
    resolve_party,
    save_if_changed,
    split_ids,
)
from thredfi_provider.sandbox.state import (
    SandboxState,
    business_context,
    list_filters,
    new_id,
    now_iso,
    paginate,
    query_key,
    state_of,
    today,
)
from thredfi_provider.sandbox.store import Record

router = APIRouter(prefix="/v1/platform/businesses/{business_id}")
Business = Annotated[Record, Depends(business_context)]


def render_bill(state: SandboxState, bill: Record) -> Record:
    overdue = (
        bool(bill.get("due_at")) and bill["status"] not in ("paid", "void") and bill["due_at"][:10] < today()
    )
    return {**bill, "vendor": state.store.get("vendors", bill["vendor_id"]), "is_overdue": overdue}


def _post_bill(state: SandboxState, business: Record, bill: Record) -> None:
    """Dr expense (or asset) per account, Cr accounts payable, on the bill date: posted on create
    and brought back in line with the bill whenever a PUT changes it."""
    expense: dict[str, int] = {}
    for line in bill["line_items"]:
        expense[line["account_code"]] = expense.get(line["account_code"], 0) + line["total_amount_cents"]
    text = f"Bill {bill['bill_number']}"
    lines = [(code, amount, 0, text) for code, amount in expense.items()]
    lines.append((ledger.AP, 0, bill["total_amount_cents"], text))
    ledger.repost(
        state, business, source_type="bill", source_reference=bill["id"], entry_date=bill["bill_date"],
        description=text, lines=lines,
    )  # fmt: skip


@router.post("/bills/", tags=["bills"], status_code=201)
async def create_bill(request: Request, business: Business, body: BillCreate) -> JSONResponse:
    state = state_of(request)
    existing = existing_by_external_id(state, "bills", business["id"], body.external_id)
    if existing is not None:
        return JSONResponse(render_bill(state, existing), status_code=200)
    vendor = resolve_party(
        state, "vendors", business["id"], body.vendor_id, body.vendor_external_id, "vendor_id"
    )
    check_currency(business, body.currency)
    lines = render_lines(state, business["id"], body.line_items, "bill_id", "6000", {"expense", "asset"})
    bill_id = new_id()
    for line in lines:
        line["bill_id"] = bill_id
    total = sum(line["total_amount_cents"] for line in lines)
    now = now_iso()
    sequence = state.store.count_owned("bills", business["id"]) + 1
    bill: Record = {
        "type": "Bill",
        "id": bill_id,
        "business_id": business["id"],
        "external_id": body.external_id,
        "bill_number": body.bill_number or f"BILL-{sequence:05d}",
        "vendor_bill_number": body.vendor_bill_number,
        "status": "open",
        "issue_date": body.bill_date or today(),
        "bill_date": body.bill_date or today(),
        "due_at": body.due_at,
        "paid_at": None,
        "voided_at": None,
        "currency": business["base_currency"],
        "vendor_id": vendor["id"],
        "memo": body.memo,
        "line_items": lines,
        "total_amount_cents": total,
        "amount_paid_cents": 0,
        "outstanding_amount_cents": total,
        "metadata": body.metadata,
        "created_at": now,
        "updated_at": now,
    }
    state.store.put("bills", bill)
    _post_bill(state, business, bill)
    return JSONResponse(render_bill(state, bill), status_code=201)


@router.get("/bills/", tags=["bills"])
async def list_bills(request: Request, business: Business) -> dict[str, Any]:
    state = state_of(request)
    q = list_filters(request, "bills")
    statuses = split_ids(q.get("status"))

    def keep(r: Record) -> bool:
        return (
            (not statuses or r["status"] in statuses)
            and (not q.get("vendor_id") or r["vendor_id"] == q["vendor_id"])
            and (not q.get("external_id") or r.get("external_id") == q["external_id"])
            and in_range(r["bill_date"], q.get("bill_date_start"), q.get("bill_date_end"))
        )

    key = query_key(q, "status", "vendor_id", "external_id", "bill_date_start", "bill_date_end")
    return paginate(
        request, state.store.query("bills", business["id"], key, keep), lambda r: render_bill(state, r)
    )


def _bill(state: SandboxState, business_id: str, bill_id: str) -> Record:
    bill = state.store.get("bills", bill_id)
    if bill is None or bill["business_id"] != business_id:
        raise ApiError(404, "bill_not_found", "Bill not found.")
    return bill


@router.get("/bills/{bill_id}/", tags=["bills"])
async def get_bill(request: Request, business: Business, bill_id: str) -> Record:
    state = state_of(request)
    return render_bill(state, _bill(state, business["id"], bill_id))


@router.put("/bills/{bill_id}/", tags=["bills"])
async def update_bill(request: Request, business: Business, bill_id: str, body: BillUpdate) -> Record:
    """Full update (CONTRACT.md §5.8) of a bill without payments: sent ``line_items`` delete and
    replace every line, omitted ones (and any other field left out) stay as they are."""
    state = state_of(request)
    stored = _bill(state, business["id"], bill_id)
    refuse_locked_document(
        stored, "bill_number", "bill_not_editable", "edited",
        "only a bill without payments can be changed.",
    )  # fmt: skip
    sent = body.model_fields_set - set(body.model_extra or {})
    check_currency(business, body.currency)
    bill = dict(stored)
    if sent & {"vendor_id", "vendor_external_id"}:
        vendor = resolve_party(
            state, "vendors", business["id"], body.vendor_id, body.vendor_external_id, "vendor_id"
        )
        bill["vendor_id"] = vendor["id"]
    if body.line_items is not None:
        lines = render_lines(state, business["id"], body.line_items, "bill_id", "6000", {"expense", "asset"})
        for line in lines:
            line["bill_id"] = bill_id
        total = sum(line["total_amount_cents"] for line in lines)
        lines = keep_unchanged_lines(stored["line_items"], lines)
        bill.update(line_items=lines, total_amount_cents=total, outstanding_amount_cents=total)
    if "external_id" in sent:
        check_external_id_free(state, "bills", business["id"], bill_id, body.external_id)
    for name in ("external_id", "vendor_bill_number", "due_at", "memo"):
        if name in sent:
            bill[name] = getattr(body, name)
    if body.bill_number:  # a number can be changed, not blanked
        bill["bill_number"] = body.bill_number
    if body.bill_date:
        bill.update(bill_date=body.bill_date, issue_date=body.bill_date)
    if "metadata" in sent:
        bill["metadata"] = body.metadata or {}
    saved = save_if_changed(state, "bills", stored, bill)
    _post_bill(state, business, saved)
    return render_bill(state, saved)
