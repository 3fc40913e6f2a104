"""Test-only control endpoints under ``/_sandbox`` (left out of the published schema)."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Request

from thredfi_provider.sandbox import ledger
from thredfi_provider.sandbox.errors import ApiError
from thredfi_provider.sandbox.state import new_id, state_of

router = APIRouter(prefix="/_sandbox", include_in_schema=False)

KINDS = (
    "businesses",
    "customers",
    "vendors",
    "invoices",
    "payments",
    "bills",
    "bill_payments",
    "journal_entries",
)


@router.get("/stats")
async def stats(request: Request) -> dict[str, Any]:
    state = state_of(request)
    return {
        "counters": dict(state.counters),
        "records": {kind: state.store.count(kind) for kind in KINDS},
        "faults": dataclasses.asdict(request.app.state.faults.config),
    }


@router.put("/faults")
async def set_faults(request: Request) -> dict[str, Any]:
    """Replace the fault configuration (and reseed the RNG) while the server runs."""
    controller = request.app.state.faults
    changes = await request.json()
    try:
        controller.configure(type(controller.config)(**changes))
    except TypeError as exc:
        raise ApiError(400, "validation_error", str(exc)) from None
    return dataclasses.asdict(controller.config)


@router.post("/tokens/expire")
async def expire_tokens(request: Request) -> dict[str, Any]:
    state = state_of(request)
    state.tokens.expire_all()
    return {"generation": state.tokens.generation}


@router.get("/tokens/issued")
async def issued_tokens(request: Request) -> dict[str, Any]:
    """Every token issued (the newest 100,000), for leak searches run from another process."""
    return {"tokens": list(state_of(request).tokens.issued)}


@router.post("/seed/journal-entries")
async def seed_journal_entries(request: Request) -> dict[str, Any]:
    """Post many balanced entries straight into a business's ledger, for export and memory tests
    that need 100,000 lines without 50,000 API calls. Each entry is expense/bank pairs."""
    state = state_of(request)
    body = await request.json()
    business = state.store.get("businesses", str(body.get("business_id")))
    if business is None:
        raise ApiError(404, "business_not_found", "Business not found.")
    entries, pairs = int(body.get("entries", 1)), max(1, int(body.get("lines_per_entry", 2)) // 2)
    entry_date = str(body.get("entry_date", "2024-03-01"))
    for n in range(entries):
        lines = [
            (code, amount, 0, "Seeded expense")
            for code, amount in (
                (("6000", "6100", "6200")[k % 3], 100 + (n * 7 + k) % 900) for k in range(pairs)
            )
        ]
        lines += [(ledger.BANK, 0, debit, "Seeded payment") for _code, debit, _credit, _text in list(lines)]
        ledger.post(
            state, business, entry_date=entry_date, description=f"Seeded entry {n}",
            source_type="manual", source_reference=f"seed-{n}", lines=lines,
        )  # fmt: skip
    return {"entries": entries, "lines": entries * pairs * 2}


@router.post("/seed/invoices")
async def seed_invoices(request: Request) -> dict[str, Any]:
    """Copy one invoice ``n`` times under new ids and ``{prefix}-{i}`` external ids: a business's
    history of 100,000 invoices for the change-data-capture benchmark, without 100,000 creates.
    The copies are listed and read like any invoice; they post nothing to the ledger."""
    state = state_of(request)
    body = await request.json()
    template = state.store.get("invoices", str(body.get("template_id")))
    if template is None:
        raise ApiError(404, "invoice_not_found", "Invoice not found.")
    prefix, n = str(body.get("prefix", "seed")), int(body.get("n", 1))
    copies = []
    for i in range(n):
        invoice_id = new_id()
        lines = [{**line, "id": new_id(), "invoice_id": invoice_id} for line in template["line_items"]]
        copies.append({**template, "id": invoice_id, "external_id": f"{prefix}-{i}",
                       "invoice_number": f"{prefix}-{i}", "line_items": lines})  # fmt: skip
    state.store.put_many("invoices", copies)
    return {"invoices": n}
