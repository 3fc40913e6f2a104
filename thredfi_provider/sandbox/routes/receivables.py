"""Invoices: create, list, get, full update (PUT) and void.

An invoice's ledger posting follows the invoice: a PUT that changes its amounts or accounts, and
a void, reverse what is posted and post what it now says (``ledger.repost``), so the ledger and
the trial balance always match the invoices as they stand.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from thredfi_provider.sandbox import ledger
from thredfi_provider.sandbox.errors import ApiError, validation
from thredfi_provider.sandbox.models import InvoiceCreate, InvoiceUpdate
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
    touched,
)
from thredfi_provider.sandbox.store import Record

router = APIRouter(prefix="/v1/platform/businesses/{business_id}")
Business = Annotated[Record, Depends(business_context)]


def render_invoice(state: SandboxState, invoice: Record) -> Record:
    customer = state.store.get("customers", invoice["customer_id"])
    return {**invoice, "customer": customer, "is_overdue": _overdue(invoice)}


def _overdue(doc: Record) -> bool:
    due = doc.get("due_at")
    return bool(due) and doc["status"] not in ("paid", "void") and str(due)[:10] < today()


def _posting(invoice: Record) -> list[ledger.Posting]:
    """Dr accounts receivable, Cr revenue per account; nothing for a void invoice."""
    if invoice["status"] == "void":
        return []
    revenue: dict[str, int] = {}
    for line in invoice["line_items"]:
        revenue[line["account_code"]] = revenue.get(line["account_code"], 0) + line["total_amount_cents"]
    text = f"Invoice {invoice['invoice_number']}"
    return [(ledger.AR, invoice["total_amount_cents"], 0, text)] + [
        (code, 0, amount, text) for code, amount in revenue.items()
    ]


def _post_invoice(state: SandboxState, business: Record, invoice: Record) -> None:
    """Bring the ledger in line with the invoice, dated the day it was issued (its ``sent_at``,
    else the day it was created), whenever it is edited or voided."""
    ledger.repost(
        state,
        business,
        source_type="invoice",
        source_reference=invoice["id"],
        entry_date=invoice["sent_at"] or invoice["created_at"][:10],
        description=f"invoice {invoice['invoice_number']}",
        lines=_posting(invoice),
    )


@router.post("/invoices/", tags=["invoices"], status_code=201)
async def create_invoice(request: Request, business: Business, body: InvoiceCreate) -> JSONResponse:
    """Idempotent on ``external_id``: a repeat returns the stored invoice with 200 and ignores the
    body, even when it differs (CONTRACT.md §6 leaves that case open; docs/sandbox.md)."""
    state = state_of(request)
    existing = existing_by_external_id(state, "invoices", business["id"], body.external_id)
    if existing is not None:
        return JSONResponse(render_invoice(state, existing), status_code=200)
    customer = resolve_party(
        state, "customers", business["id"], body.customer_id, body.customer_external_id, "customer_id"
    )
    check_currency(business, body.currency)
    lines = render_lines(state, business["id"], body.line_items, "invoice_id", "4000", {"revenue"})
    total = sum(line["total_amount_cents"] for line in lines)
    now = now_iso()
    invoice_id = new_id()
    for line in lines:
        line["invoice_id"] = invoice_id
    sequence = state.store.count_owned("invoices", business["id"]) + 1
    invoice: Record = {
        "type": "Invoice",
        "id": invoice_id,
        "business_id": business["id"],
        "external_id": body.external_id,
        "invoice_number": body.invoice_number or f"INV-{sequence:05d}",
        "invoice_type": body.invoice_type,
        "status": "sent" if body.sent_at else "draft",
        "sent_at": body.sent_at,
        "due_at": body.due_at,
        "paid_at": None,
        "voided_at": None,
        "currency": business["base_currency"],
        "customer_id": customer["id"],
        "memo": body.memo,
        "line_items": lines,
        "total_amount_cents": total,
        "amount_paid_cents": 0,
        "outstanding_amount_cents": total,
        "transaction_tags": body.transaction_tags,
        "metadata": body.metadata,
        "created_at": now,
        "updated_at": now,
    }
    state.store.put("invoices", invoice)
    _post_invoice(state, business, invoice)
    return JSONResponse(render_invoice(state, invoice), status_code=201)


@router.get("/invoices/", tags=["invoices"])
async def list_invoices(request: Request, business: Business) -> dict[str, Any]:
    state = state_of(request)
    q = list_filters(request, "invoices")
    statuses = {s.lower() for s in split_ids(q.get("status"))}
    customers = split_ids(q.get("customer_id"))
    customer_ext = q.get("customer_external_id")
    customer_by_ext = (
        state.store.by_external_id("customers", business["id"], customer_ext) if customer_ext else None
    )

    def keep(r: Record) -> bool:
        unpaid = "unpaid" in statuses and r["status"] in ("sent", "draft", "partially_paid")
        return (
            (not statuses or r["status"] in statuses or unpaid)
            and (not customers or r["customer_id"] in customers)
            and (
                not customer_ext
                or (customer_by_ext is not None and r["customer_id"] == customer_by_ext["id"])
            )
            and (not q.get("external_id") or r.get("external_id") == q["external_id"])
            and in_range(r.get("due_at"), q.get("due_at_start"), q.get("due_at_end"))
            and in_range(r.get("sent_at"), q.get("sent_at_start"), q.get("sent_at_end"))
            and (not q.get("min_amount") or r["total_amount_cents"] >= int(q["min_amount"]))
            and (not q.get("max_amount") or r["total_amount_cents"] <= int(q["max_amount"]))
        )

    key = query_key(
        q, "status", "customer_id", "customer_external_id", "external_id", "due_at_start", "due_at_end",
        "sent_at_start", "sent_at_end", "min_amount", "max_amount",
    )  # fmt: skip
    _check_ints(q, "min_amount", "max_amount")
    return paginate(
        request, state.store.query("invoices", business["id"], key, keep), lambda r: render_invoice(state, r)
    )


def _check_ints(q: Any, *names: str) -> None:
    for name in names:
        if q.get(name) and not q[name].lstrip("-").isdigit():
            raise validation(name, "Enter a whole number.")


def _invoice(state: SandboxState, business_id: str, invoice_id: str) -> Record:
    invoice = state.store.get("invoices", invoice_id)
    if invoice is None or invoice["business_id"] != business_id:
        raise ApiError(404, "invoice_not_found", "Invoice not found.")
    return invoice


@router.get("/invoices/{invoice_id}/", tags=["invoices"])
async def get_invoice(request: Request, business: Business, invoice_id: str) -> Record:
    state = state_of(request)
    return render_invoice(state, _invoice(state, business["id"], invoice_id))


@router.put("/invoices/{invoice_id}/", tags=["invoices"])
async def update_invoice(
    request: Request, business: Business, invoice_id: str, body: InvoiceUpdate
) -> Record:
    """Full update (CONTRACT.md §5.5) of an invoice without payments; fields left out keep their
    values, sent ``line_items`` replace every line and the ledger posting follows."""
    state = state_of(request)
    stored = _invoice(state, business["id"], invoice_id)
    refuse_locked_document(
        stored, "invoice_number", "invoice_not_editable", "edited",
        "only an invoice without payments that is not void can be changed.",
    )  # fmt: skip
    # Strict mode refused the create fields update-invoice does not list (models.InvoiceUpdate).
    sent = body.model_fields_set - set(body.model_extra or {})
    check_currency(business, body.currency)
    invoice = dict(stored)
    if sent & {"customer_id", "customer_external_id"}:
        by_external = body.customer_external_id if "customer_external_id" in sent else None
        customer = resolve_party(
            state, "customers", business["id"], body.customer_id, by_external, "customer_id"
        )
        invoice["customer_id"] = customer["id"]
    if "sent_at" in sent:  # moves the posting to the new date; no sent_at makes it a draft again
        invoice.update(sent_at=body.sent_at, status="sent" if body.sent_at else "draft")
    if body.line_items is not None:
        lines = render_lines(state, business["id"], body.line_items, "invoice_id", "4000", {"revenue"})
        for line in lines:
            line["invoice_id"] = invoice_id
        total = sum(line["total_amount_cents"] for line in lines)
        lines = keep_unchanged_lines(stored["line_items"], lines)
        invoice.update(line_items=lines, total_amount_cents=total, outstanding_amount_cents=total)
    if "external_id" in sent:
        check_external_id_free(state, "invoices", business["id"], invoice_id, body.external_id)
    for name in ("external_id", "invoice_type", "memo", "due_at"):
        if name in sent:
            invoice[name] = getattr(body, name)
    if body.invoice_number:  # a number can be changed, not blanked
        invoice["invoice_number"] = body.invoice_number
    for name, empty in (("transaction_tags", []), ("metadata", {})):
        if name in sent:
            invoice[name] = getattr(body, name) or empty
    saved = save_if_changed(state, "invoices", stored, invoice)
    _post_invoice(state, business, saved)
    return render_invoice(state, saved)


@router.post("/invoices/{invoice_id}/void/", tags=["invoices"])
async def void_invoice(request: Request, business: Business, invoice_id: str) -> Record:
    """Void an unpaid invoice; its posting is reversed. The body the void-invoice page shows
    (number, external_id, memo, customer) is accepted and ignored.

    A void of a void invoice is not documented (CONTRACT.md §5.5): by default it returns the
    invoice with 200 and posts nothing; strict mode takes the strictest reading, a 409 state
    conflict, so a client that lost the first void's answer must read the invoice to settle it.
    """
    state = state_of(request)
    stored = _invoice(state, business["id"], invoice_id)
    if stored["status"] == "void":
        if state.config.strict:
            raise ApiError(
                409,
                "invoice_already_void",
                f"Invoice {stored['invoice_number']} is already void.",
                {"status": ["Invoice is void."]},
            )
        return render_invoice(state, stored)
    refuse_locked_document(
        stored, "invoice_number", "invoice_not_voidable", "voided",
        "an invoice with payments is settled with a refund or a credit note, not a void.",
    )  # fmt: skip
    now = now_iso()
    invoice = {
        **stored,
        "status": "void",
        "voided_at": now,
        "outstanding_amount_cents": 0,
        "updated_at": touched(stored["updated_at"]),
    }
    state.store.put("invoices", invoice)
    _post_invoice(state, business, invoice)
    return render_invoice(state, invoice)
