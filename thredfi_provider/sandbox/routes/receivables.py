"""Customers, vendors, invoices and invoice payments."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from thredfi_provider.sandbox import ledger
from thredfi_provider.sandbox.errors import ApiError, validation
from thredfi_provider.sandbox.models import InvoiceCreate, InvoiceUpdate, PartyCreate
from thredfi_provider.sandbox.routes.common import (
    check_currency,
    existing_by_external_id,
    in_range,
    render_lines,
    resolve_party,
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


# ---------------------------------------------------------------- customers and vendors


def _create_party(request: Request, business: Record, kind: str, body: PartyCreate) -> JSONResponse:
    state = state_of(request)
    existing = existing_by_external_id(state, kind, business["id"], body.external_id)
    if existing is not None:
        return JSONResponse(existing, status_code=200)
    now = now_iso()
    display = body.company_name or body.individual_name or body.name
    record: Record = {
        "type": "CustomerData" if kind == "customers" else "VendorData",
        "id": new_id(),
        "business_id": business["id"],
        **body.model_dump(exclude={"name"}, exclude_none=False),
        "individual_name": body.individual_name or (body.name if not body.company_name else None),
        "display_name": display,
        "status": "active" if kind == "customers" else "ACTIVE",
        "is_active": True,
        "is_archived": False,
        "outstanding_balance": 0,
        "created_at": now,
        "updated_at": now,
        "archived_at": None,
    }
    for key in list(record):
        if key in (body.model_extra or {}):
            record.pop(key)  # unknown fields are ignored, as DRF does
    state.store.put(kind, record)
    return JSONResponse(record, status_code=201)


def _list_parties(request: Request, business: Record, kind: str) -> dict[str, Any]:
    state = state_of(request)
    q = list_filters(request, kind)
    name_contains = (q.get("name_contains") or "").lower()
    include_archived = q.get("include_archived", "false").lower() == "true"

    def keep(r: Record) -> bool:
        return (
            (not q.get("external_id") or r.get("external_id") == q["external_id"])
            and (
                not q.get("external_id_contains") or q["external_id_contains"] in (r.get("external_id") or "")
            )
            and (not q.get("name") or q["name"] in (r.get("company_name"), r.get("individual_name")))
            and (not name_contains or name_contains in (r.get("display_name") or "").lower())
            and (include_archived or not r.get("is_archived"))
        )

    key = query_key(q, "external_id", "external_id_contains", "name", "name_contains", "include_archived")
    return paginate(request, state.store.query(kind, business["id"], key, keep))


def _party(state: SandboxState, kind: str, business_id: str, party_id: str) -> Record:
    record = state.store.get(kind, party_id)
    if record is None or record["business_id"] != business_id:
        raise ApiError(404, f"{kind[:-1]}_not_found", f"{kind[:-1].title()} not found.")
    return record


@router.post("/customers/", tags=["customers"], status_code=201)
async def create_customer(request: Request, business: Business, body: PartyCreate) -> JSONResponse:
    return _create_party(request, business, "customers", body)


@router.get("/customers/", tags=["customers"])
async def list_customers(request: Request, business: Business) -> dict[str, Any]:
    return _list_parties(request, business, "customers")


@router.get("/customers/{customer_id}/", tags=["customers"])
async def get_customer(request: Request, business: Business, customer_id: str) -> Record:
    return _party(state_of(request), "customers", business["id"], customer_id)


@router.post("/customers/{customer_id}/archive/", tags=["customers"])
async def archive_customer(request: Request, business: Business, customer_id: str) -> Record:
    state = state_of(request)
    record = dict(_party(state, "customers", business["id"], customer_id))
    record.update(
        is_archived=True, is_active=False, status="archived", archived_at=now_iso(), updated_at=now_iso()
    )
    return state.store.put("customers", record)


@router.post("/vendors/", tags=["vendors"], status_code=201)
async def create_vendor(request: Request, business: Business, body: PartyCreate) -> JSONResponse:
    return _create_party(request, business, "vendors", body)


@router.get("/vendors/", tags=["vendors"])
async def list_vendors(request: Request, business: Business) -> dict[str, Any]:
    return _list_parties(request, business, "vendors")


@router.get("/vendors/{vendor_id}/", tags=["vendors"])
async def get_vendor(request: Request, business: Business, vendor_id: str) -> Record:
    return _party(state_of(request), "vendors", business["id"], vendor_id)


@router.post("/vendors/{vendor_id}/unarchive/", tags=["vendors"])
async def unarchive_vendor(request: Request, business: Business, vendor_id: str) -> Record:
    state = state_of(request)
    record = dict(_party(state, "vendors", business["id"], vendor_id))
    record.update(is_archived=False, is_active=True, status="ACTIVE", archived_at=None, updated_at=now_iso())
    return state.store.put("vendors", record)


# ---------------------------------------------------------------- invoices


def render_invoice(state: SandboxState, invoice: Record) -> Record:
    customer = state.store.get("customers", invoice["customer_id"])
    return {**invoice, "customer": customer, "is_overdue": _overdue(invoice)}


def _overdue(doc: Record) -> bool:
    due = doc.get("due_at")
    return bool(due) and doc["status"] not in ("paid", "void") and str(due)[:10] < today()


def _post_invoice(state: SandboxState, business: Record, invoice: Record, *, reverse: bool = False) -> None:
    revenue: dict[str, int] = {}
    for line in invoice["line_items"]:
        revenue[line["account_code"]] = revenue.get(line["account_code"], 0) + line["total_amount_cents"]
    total = invoice["total_amount_cents"]
    lines = [(ledger.AR, total, 0, f"Invoice {invoice['invoice_number']}")]
    lines += [(code, 0, amount, f"Invoice {invoice['invoice_number']}") for code, amount in revenue.items()]
    if reverse:
        lines = [(code, credit, debit, f"Reversal: {text}") for code, debit, credit, text in lines]
    ledger.post(
        state,
        business,
        entry_date=today() if reverse else (invoice["sent_at"] or today()),
        description=("Void " if reverse else "") + f"invoice {invoice['invoice_number']}",
        source_type="invoice",
        source_reference=invoice["id"],
        lines=lines,
    )


@router.post("/invoices/", tags=["invoices"], status_code=201)
async def create_invoice(request: Request, business: Business, body: InvoiceCreate) -> JSONResponse:
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
    sequence = len(state.store.all("invoices", business["id"])) + 1
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
    state = state_of(request)
    invoice = dict(_invoice(state, business["id"], invoice_id))
    if invoice["status"] == "void":
        raise ApiError(409, "invalid_state", "A void invoice cannot be changed.")
    changes = body.model_dump(exclude_unset=True, exclude={"line_items"} | set(body.model_extra or {}))
    invoice.update(changes)
    if body.line_items is not None:
        if invoice["amount_paid_cents"]:
            raise ApiError(409, "invalid_state", "Lines of an invoice with payments cannot be replaced.")
        _post_invoice(state, business, invoice, reverse=True)
        lines = render_lines(state, business["id"], body.line_items, "invoice_id", "4000", {"revenue"})
        for line in lines:
            line["invoice_id"] = invoice_id
        total = sum(line["total_amount_cents"] for line in lines)
        invoice.update(line_items=lines, total_amount_cents=total, outstanding_amount_cents=total)
        _post_invoice(state, business, invoice)
    invoice["updated_at"] = now_iso()
    state.store.put("invoices", invoice)
    return render_invoice(state, invoice)


@router.post("/invoices/{invoice_id}/void/", tags=["invoices"])
async def void_invoice(request: Request, business: Business, invoice_id: str) -> Record:
    state = state_of(request)
    invoice = dict(_invoice(state, business["id"], invoice_id))
    if invoice["status"] == "void":
        return render_invoice(state, invoice)
    if invoice["amount_paid_cents"]:
        raise ApiError(409, "invalid_state", "An invoice with payments cannot be voided; refund it instead.")
    invoice.update(status="void", voided_at=now_iso(), outstanding_amount_cents=0, updated_at=now_iso())
    state.store.put("invoices", invoice)
    _post_invoice(state, business, invoice, reverse=True)
    return render_invoice(state, invoice)
