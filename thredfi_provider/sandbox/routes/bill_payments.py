"""Bill payments (registered before ``/bills/{bill_id}/`` so the path is not read as a bill id)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from thredfi_provider.sandbox import ledger
from thredfi_provider.sandbox.errors import ApiError, validation
from thredfi_provider.sandbox.payment_models import BillPaymentCreate, BillPaymentUpdate
from thredfi_provider.sandbox.routes.common import (
    check_currency,
    check_external_id_free,
    check_status_change,
    existing_by_external_id,
    in_range,
    refuse_payment_changes,
    resolve_party,
    save_if_changed,
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
        "failure_reason": None,
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


def _bill_payment(state: SandboxState, business_id: str, bill_payment_id: str) -> Record:
    payment = state.store.get("bill_payments", bill_payment_id)
    if payment is None or payment["business_id"] != business_id:
        raise ApiError(404, "bill_payment_not_found", "Bill payment not found.")
    return payment


@router.get("/bills/payments/{bill_payment_id}/", tags=["bill-payments"])
async def get_bill_payment(request: Request, business: Business, bill_payment_id: str) -> Record:
    return _bill_payment(state_of(request), business["id"], bill_payment_id)


# What a bill payment moved, as posted to the ledger: a PATCH may resend it, not change it.
SETTLED_FIELDS = ("vendor_id", "amount_cents", "allocations", "processing_fee_cents", "payment_date")
DESCRIPTIVE_FIELDS = ("payment_method", "payment_reference", "check_number", "description", "memo")


@router.patch("/bills/payments/{bill_payment_id}/", tags=["bill-payments"])
async def update_bill_payment(
    request: Request, business: Business, bill_payment_id: str, body: BillPaymentUpdate
) -> Record:
    """Partial update (CONTRACT.md §5.8): references, notes, metadata, method and a status the
    published transitions allow; the amount, allocations, fee, date or vendor of a completed
    payment are refused (409)."""
    state = state_of(request)
    stored = _bill_payment(state, business["id"], bill_payment_id)
    sent = body.model_fields_set - set(body.model_extra or {})
    check_currency(business, body.currency)
    if body.status == "failed" and not (body.failure_reason or stored.get("failure_reason")):
        raise validation("failure_reason", "failure_reason is required when status is failed.")
    if "payment_method" in sent and body.payment_method is None:
        raise validation("payment_method", "This field may not be null.")
    method = body.payment_method if "payment_method" in sent else stored["payment_method"]
    check_number = body.check_number if "check_number" in sent else stored.get("check_number")
    if method == "check" and not check_number:
        raise validation("check_number", "check_number is required when payment_method is check.")
    current = {name: stored[name] for name in SETTLED_FIELDS}
    current["allocations"] = sorted((a["bill_id"], a["amount_cents"]) for a in stored["allocations"])
    requested = body.model_dump(include=set(SETTLED_FIELDS) & sent)
    if body.allocations is not None:
        requested["allocations"] = sorted((a.bill_id, a.amount_cents) for a in body.allocations)
    refuse_payment_changes(
        stored, [n for n in SETTLED_FIELDS if n in requested and requested[n] != current[n]]
    )
    check_status_change(stored["status"], body.status)
    if "external_id" in sent:
        check_external_id_free(state, "bill_payments", business["id"], bill_payment_id, body.external_id)
    payment = dict(stored)
    payment.update(body.model_dump(include={"external_id", *DESCRIPTIVE_FIELDS} & sent))
    if body.status:
        payment["status"] = body.status
    if body.failure_reason is not None:
        payment["failure_reason"] = body.failure_reason
    if "metadata" in sent:
        payment["metadata"] = body.metadata or {}
    return save_if_changed(state, "bill_payments", stored, payment)
