"""Bills and bill payments (payments first, so ``/bills/payments/`` is not read as a bill id)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from thredfi_provider.sandbox import ledger
from thredfi_provider.sandbox.errors import ApiError, validation
from thredfi_provider.sandbox.models import BillCreate, BillPaymentCreate
from thredfi_provider.sandbox.routes.common import (
    check_currency,
    existing_by_external_id,
    in_range,
    render_lines,
    resolve_party,
    split_ids,
    with_idempotency_key,
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


def _apply_bill_payment(state: SandboxState, business: Record, body: BillPaymentCreate) -> tuple[int, Record]:
    check_currency(business, body.currency)
    vendor = resolve_party(state, "vendors", business["id"], body.vendor_id, None, "vendor_id")
    allocated = sum(a.amount_cents for a in body.allocations)
    if allocated > body.amount_cents:
        raise validation("allocations", "Allocations exceed the payment amount.")
    if body.processing_fee_cents > body.amount_cents:
        raise validation("processing_fee_cents", "Processing fee exceeds the payment amount.")
    bills: list[tuple[Record, int]] = []
    seen: set[str] = set()
    for index, allocation in enumerate(body.allocations):
        field = f"allocations.{index}.bill_id"
        bill = state.store.get("bills", allocation.bill_id)
        if bill is None or bill["business_id"] != business["id"]:
            raise validation(field, "Bill not found in this business.")
        if allocation.bill_id in seen:
            raise validation(field, "Bill allocated twice in one payment.")
        seen.add(allocation.bill_id)
        if bill["vendor_id"] != vendor["id"]:
            raise validation(field, "Bill belongs to another vendor.")
        if allocation.amount_cents > bill["outstanding_amount_cents"]:
            raise validation(
                f"allocations.{index}.amount_cents",
                f"Allocation exceeds the bill's outstanding amount ({bill['outstanding_amount_cents']}).",
            )
        bills.append((bill, allocation.amount_cents))
    now = now_iso()
    payment_id = new_id()
    allocations = []
    for bill, amount in bills:
        updated = dict(bill)
        updated["amount_paid_cents"] += amount
        updated["outstanding_amount_cents"] -= amount
        updated["status"] = "paid" if updated["outstanding_amount_cents"] == 0 else "partially_paid"
        updated["paid_at"] = now if updated["status"] == "paid" else None
        updated["updated_at"] = now
        state.store.put("bills", updated)
        allocations.append(
            {
                "id": new_id(),
                "bill_id": bill["id"],
                "bill_number": bill["bill_number"],
                "amount_cents": amount,
            }
        )
    payment: Record = {
        "id": payment_id,
        "business_id": business["id"],
        "vendor_id": vendor["id"],
        "vendor_name": vendor["display_name"],
        "payment_reference": body.payment_reference,
        "external_id": body.external_id,
        "check_number": body.check_number,
        "amount_cents": body.amount_cents,
        "currency": business["base_currency"],
        "processing_fee_cents": body.processing_fee_cents,
        "net_amount_cents": body.amount_cents - body.processing_fee_cents,
        "allocated_amount_cents": allocated,
        "unallocated_amount_cents": body.amount_cents - allocated,
        "is_fully_allocated": allocated == body.amount_cents,
        "payment_method": body.payment_method,
        "status": "completed",
        "payment_date": body.payment_date,
        "value_date": body.payment_date,
        "completed_at": now,
        "description": body.description,
        "memo": body.memo,
        "metadata": body.metadata,
        "allocations": allocations,
        "created_at": now,
        "updated_at": now,
    }
    state.store.put("bill_payments", payment)
    reference = body.payment_reference or payment_id
    lines = [
        (ledger.AP, allocated, 0, f"Bill payment {reference}"),
        (ledger.VENDOR_PREPAY, body.amount_cents - allocated, 0, "Unallocated bill payment"),
        ("7000", body.processing_fee_cents, 0, "Processing fee"),
        (ledger.BANK, 0, body.amount_cents + body.processing_fee_cents, f"Bill payment {reference}"),
    ]
    ledger.post(
        state, business, entry_date=body.payment_date, description=f"Vendor payment {reference}",
        source_type="bill_payment", source_reference=payment_id, lines=lines,
    )  # fmt: skip
    return 201, payment


@router.post("/bills/payments/", tags=["bill-payments"], status_code=201)
async def create_bill_payment(request: Request, business: Business, body: BillPaymentCreate) -> JSONResponse:
    state = state_of(request)

    def create() -> tuple[int, Record]:
        existing = existing_by_external_id(state, "bill_payments", business["id"], body.external_id)
        if existing is not None:
            return 200, existing
        return _apply_bill_payment(state, business, body)

    return with_idempotency_key(request, business["id"], body.model_dump(mode="json"), create)


@router.get("/bills/payments/", tags=["bill-payments"])
async def list_bill_payments(request: Request, business: Business) -> dict[str, Any]:
    state = state_of(request)
    q = list_filters(request, "bill_payments")
    statuses = split_ids(q.get("status"))

    def keep(r: Record) -> bool:
        return (
            (not statuses or r["status"] in statuses)
            and (not q.get("vendor_id") or r["vendor_id"] == q["vendor_id"])
            and (not q.get("payment_method") or r["payment_method"] == q["payment_method"])
            and (not q.get("external_id") or r.get("external_id") == q["external_id"])
            and (not q.get("bill_id") or any(a["bill_id"] == q["bill_id"] for a in r["allocations"]))
            and in_range(r["payment_date"], q.get("payment_date_start"), q.get("payment_date_end"))
        )

    key = query_key(q, "status", "vendor_id", "payment_method", "external_id", "bill_id",
                    "payment_date_start", "payment_date_end")  # fmt: skip
    return paginate(request, state.store.query("bill_payments", business["id"], key, keep))


@router.get("/bills/payments/{bill_payment_id}/", tags=["bill-payments"])
async def get_bill_payment(request: Request, business: Business, bill_payment_id: str) -> Record:
    payment = state_of(request).store.get("bill_payments", bill_payment_id)
    if payment is None or payment["business_id"] != business["id"]:
        raise ApiError(404, "bill_payment_not_found", "Bill payment not found.")
    return payment


def render_bill(state: SandboxState, bill: Record) -> Record:
    overdue = (
        bool(bill.get("due_at")) and bill["status"] not in ("paid", "void") and bill["due_at"][:10] < today()
    )
    return {**bill, "vendor": state.store.get("vendors", bill["vendor_id"]), "is_overdue": overdue}


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
    sequence = len(state.store.all("bills", business["id"])) + 1
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
    expense: dict[str, int] = {}
    for line in lines:
        expense[line["account_code"]] = expense.get(line["account_code"], 0) + line["total_amount_cents"]
    postings = [(code, amount, 0, f"Bill {bill['bill_number']}") for code, amount in expense.items()]
    postings.append((ledger.AP, 0, total, f"Bill {bill['bill_number']}"))
    ledger.post(
        state, business, entry_date=bill["bill_date"], description=f"Bill {bill['bill_number']}",
        source_type="bill", source_reference=bill_id, lines=postings,
    )  # fmt: skip
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


@router.get("/bills/{bill_id}/", tags=["bills"])
async def get_bill(request: Request, business: Business, bill_id: str) -> Record:
    state = state_of(request)
    bill = state.store.get("bills", bill_id)
    if bill is None or bill["business_id"] != business["id"]:
        raise ApiError(404, "bill_not_found", "Bill not found.")
    return render_bill(state, bill)
