"""Invoice payments (registered before ``/invoices/{invoice_id}/`` so the path is not shadowed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from thredfi_provider.sandbox import ledger
from thredfi_provider.sandbox.errors import ApiError, validation
from thredfi_provider.sandbox.payment_models import PaymentCreate, PaymentUpdate
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


def _apply_payment(state: SandboxState, business: Record, body: PaymentCreate) -> tuple[int, Record]:
    check_currency(business, body.currency)
    customer = None
    if body.customer_id:
        customer = resolve_party(state, "customers", business["id"], body.customer_id, None, "customer_id")
    allocated = sum(a.amount_cents for a in body.allocations)
    if body.processing_fee_cents > body.total:
        raise validation("processing_fee_cents", "Processing fee exceeds the payment amount.")
    if allocated > body.total:
        raise validation("allocations", "Allocations exceed the payment amount.")
    seen: set[str] = set()
    invoices: list[tuple[Record, int]] = []
    for index, allocation in enumerate(body.allocations):
        field = f"allocations.{index}.invoice_id"
        invoice = state.store.get("invoices", allocation.invoice_id)
        if invoice is None or invoice["business_id"] != business["id"]:
            raise validation(field, "Invoice not found in this business.")
        if allocation.invoice_id in seen:
            raise validation(field, "Invoice allocated twice in one payment.")
        seen.add(allocation.invoice_id)
        if invoice["status"] == "void":
            raise validation(field, "Cannot allocate to a void invoice.")
        if customer is not None and invoice["customer_id"] != customer["id"]:
            raise validation(field, "Invoice belongs to another customer.")
        if allocation.amount_cents > invoice["outstanding_amount_cents"]:
            raise validation(
                f"allocations.{index}.amount_cents",
                f"Allocation exceeds the outstanding amount ({invoice['outstanding_amount_cents']}).",
            )
        invoices.append((invoice, allocation.amount_cents))
    if customer is None and invoices:
        customer = state.store.get("customers", invoices[0][0]["customer_id"])
    now = now_iso()
    payment_id = new_id()
    applied = []
    for invoice, amount in invoices:
        updated = dict(invoice)
        updated["amount_paid_cents"] += amount
        updated["outstanding_amount_cents"] -= amount
        updated["status"] = "paid" if updated["outstanding_amount_cents"] == 0 else "partially_paid"
        updated["paid_at"] = now if updated["status"] == "paid" else None
        updated["updated_at"] = now
        state.store.put("invoices", updated)
        applied.append(
            {
                "id": invoice["id"],
                "invoice_number": invoice["invoice_number"],
                "applied_amount_cents": amount,
                "status": updated["status"],
                "outstanding_amount_cents": updated["outstanding_amount_cents"],
            }
        )
    payment: Record = {
        "id": payment_id,
        "business_id": business["id"],
        "customer_id": customer["id"] if customer else None,
        "external_id": body.external_id,
        "total_amount_cents": body.total,
        "applied_amount_cents": allocated,
        "allocated_amount_cents": allocated,
        "unapplied_amount_cents": body.total - allocated,
        "remaining_amount_cents": body.total - allocated,
        "processing_fee_cents": body.processing_fee_cents,
        "currency": business["base_currency"],
        "status": "completed",
        "payment_method": body.payment_method,
        "payment_reference": body.payment_reference,
        "payment_date": body.payment_date,
        "payment_processor": None,
        "processor_reference": None,
        "bank_reference": None,
        "end_to_end_id": None,
        "note": body.note,
        "transaction_tags": [],
        "metadata": body.metadata,
        "idempotency_key": None,
        "is_fully_allocated": allocated == body.total,
        "created_at": now,
        "updated_at": now,
        "applied_invoices": applied,
    }
    state.store.put("payments", payment)
    reference = body.payment_reference or payment_id
    lines = [
        (ledger.BANK, body.total - body.processing_fee_cents, 0, f"Payment {reference}"),
        ("7000", body.processing_fee_cents, 0, "Processing fee"),
        (ledger.AR, 0, allocated, f"Payment {reference}"),
        (ledger.CUSTOMER_PREPAY, 0, body.total - allocated, "Unapplied payment"),
    ]
    ledger.post(
        state, business, entry_date=body.payment_date, description=f"Customer payment {reference}",
        source_type="invoice_payment", source_reference=payment_id, lines=lines,
    )  # fmt: skip
    return 201, {"payment": payment}


@router.post("/invoices/payments/", tags=["payments"], status_code=201)
async def create_payment(request: Request, business: Business, body: PaymentCreate) -> JSONResponse:
    """Idempotent twice over: ``external_id`` repeats return 200, ``Idempotency-Key`` repeats replay."""
    state = state_of(request)

    def create() -> tuple[int, Record]:
        existing = existing_by_external_id(state, "payments", business["id"], body.external_id)
        if existing is not None:
            # The contract says a known external_id returns "the existing resource", not in which
            # shape; strict mode answers the one published read shape (no cents, no external_id).
            return 200, {"payment": _read_shape(state, existing)}
        return _apply_payment(state, business, body)

    return with_idempotency_key(request, business["id"], body.model_dump(mode="json"), create)


@router.get("/invoices/payments/", tags=["payments"])
async def list_payments(request: Request, business: Business) -> dict[str, Any]:
    state = state_of(request)
    q = list_filters(request, "payments")
    statuses = split_ids(q.get("status"))

    def keep(r: Record) -> bool:
        return (
            (not statuses or r["status"] in statuses)
            and (not q.get("customer_id") or r["customer_id"] in split_ids(q["customer_id"]))
            and (not q.get("external_id") or r.get("external_id") == q["external_id"])
            and (not q.get("invoice_id") or any(a["id"] == q["invoice_id"] for a in r["applied_invoices"]))
            and in_range(r["payment_date"], q.get("payment_date_start"), q.get("payment_date_end"))
        )

    key = query_key(q, "status", "customer_id", "external_id", "invoice_id", "payment_date_start",
                    "payment_date_end")  # fmt: skip
    return paginate(
        request, state.store.query("payments", business["id"], key, keep), lambda r: _read_shape(state, r)
    )


def _read_shape(state: SandboxState, payment: Record) -> Record:
    """What a read answers: the stored record, or in strict mode the published InvoicePaymentList
    shape and nothing more (CONTRACT.md §5.6): ``total_amount`` and allocations' ``amount`` with
    no published unit, no ``external_id``, no ``payment_date``, no ``note``. A client that
    compares what it sent with this cannot prove those fields equal."""
    if not state.config.strict:
        return payment
    customer = state.store.get("customers", payment["customer_id"]) or {}
    name = customer.get("company_name") or customer.get("individual_name") or ""
    total, allocated = payment["total_amount_cents"], payment["allocated_amount_cents"]
    fee = payment["processing_fee_cents"]
    return {
        "id": payment["id"],
        "customer": {"id": payment["customer_id"], "name": name, "email": customer.get("email"),
                     "company_name": customer.get("company_name")},
        "customer_name": name,
        "customer_email": customer.get("email"),
        "payment_method": payment["payment_method"],
        "total_amount": _decimal(total),
        "allocated_amount": _decimal(allocated),
        "unallocated_amount": _decimal(total - allocated),
        "net_amount": _decimal(total - fee),
        "processing_fee": _decimal(fee),
        "processing_fee_cents": fee,
        "display_amount": f"{payment['currency']} {_decimal(total)}",
        "is_fully_allocated": allocated == total,
        "is_completed": payment["status"] == "completed",
        "processed_at": payment["created_at"] if payment["status"] == "completed" else None,
        "failed_at": None,
        "created_at": payment["created_at"],
        "updated_at": payment["updated_at"],
        "allocations": [
            {"id": f"{payment['id']}:{a['id']}", "invoice_id": a["id"],
             "invoice_number": a.get("invoice_number"), "invoice_status": a.get("status"),
             "amount": _decimal(a["applied_amount_cents"]),
             "allocated_at": payment["created_at"], "transaction_tags": [], "notes": None}
            for a in payment["applied_invoices"]
        ],
        "refund_allocations": [],
        "reconciled_bank_transactions": [],
    }  # fmt: skip


def _decimal(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _payment(state: SandboxState, business_id: str, payment_id: str) -> Record:
    payment = state.store.get("payments", payment_id)
    if payment is None or payment["business_id"] != business_id:
        raise ApiError(404, "payment_not_found", "Payment not found.")
    return payment


@router.get("/invoices/payments/{payment_id}/", tags=["payments"])
async def get_payment(request: Request, business: Business, payment_id: str) -> Record:
    state = state_of(request)
    return _read_shape(state, _payment(state, business["id"], payment_id))


# What a payment moved, as posted to the ledger: a PATCH may resend it, not change it.
SETTLED_FIELDS = ("customer_id", "total_amount_cents", "allocations", "processing_fee_cents", "payment_date")
DESCRIPTIVE_FIELDS = (
    "external_id", "payment_method", "payment_reference", "payment_processor", "processor_reference",
    "bank_reference", "note",
)  # fmt: skip


@router.patch("/invoices/payments/{payment_id}/", tags=["payments"])
async def update_payment(
    request: Request, business: Business, payment_id: str, body: PaymentUpdate
) -> dict[str, Record]:
    """Partial update (CONTRACT.md §5.6), answered in the create's wrapped ``{"payment": ...}``:
    references, notes, tags, metadata, method and a status the transitions allow; the amount,
    allocations, fee, date or customer of a completed payment are refused (409)."""
    state = state_of(request)
    stored = _payment(state, business["id"], payment_id)
    sent = body.model_fields_set - set(body.model_extra or {})
    check_currency(business, body.currency)
    if "payment_method" in sent and body.payment_method is None:
        raise validation("payment_method", "This field may not be null.")
    current = {name: stored[name] for name in SETTLED_FIELDS if name != "allocations"}
    current["allocations"] = sorted((a["id"], a["applied_amount_cents"]) for a in stored["applied_invoices"])
    requested = body.model_dump(include=set(SETTLED_FIELDS) & sent)
    if "amount_cents" in sent:  # the guides' name for the total
        requested["total_amount_cents"] = body.amount_cents
    if body.allocations is not None:
        requested["allocations"] = sorted((a.invoice_id, a.amount_cents) for a in body.allocations)
    refuse_payment_changes(
        stored, [n for n in SETTLED_FIELDS if n in requested and requested[n] != current[n]]
    )
    check_status_change(stored["status"], body.status)
    if "external_id" in sent:
        check_external_id_free(state, "payments", business["id"], payment_id, body.external_id)
    payment = dict(stored)
    payment.update(body.model_dump(include=set(DESCRIPTIVE_FIELDS) & sent))
    if body.references is not None:  # {bank_reference, end_to_end_id, payment_reference}
        payment.update(
            body.references.model_dump(exclude_unset=True, exclude=set(body.references.model_extra or {}))
        )
    if body.status:
        payment["status"] = body.status
    for name, empty in (("transaction_tags", []), ("metadata", {})):
        if name in sent:
            payment[name] = getattr(body, name) or empty
    return {"payment": save_if_changed(state, "payments", stored, payment)}
