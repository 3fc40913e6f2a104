"""Customers and vendors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from thredfi_provider.sandbox.errors import ApiError
from thredfi_provider.sandbox.models import PartyCreate
from thredfi_provider.sandbox.routes.common import existing_by_external_id, save_if_changed
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


def _create_party(request: Request, business: Record, kind: str, body: PartyCreate) -> JSONResponse:
    """Idempotent on ``external_id``: a repeat returns the stored record with 200 and ignores the
    body, even when it differs (CONTRACT.md §6 leaves that case open; docs/sandbox.md)."""
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


def _refuse_repeat_when_strict(state: SandboxState, record: Record, error_code: str, state_name: str) -> None:
    """A repeated archive or unarchive is not documented (CONTRACT.md §5.5 on voids: "the same
    holds for archive/unarchive"); strict mode takes the strictest reading, a 409 state conflict,
    so a client that lost the first answer must read the party to settle it. By default the
    repeat returns the party unchanged with 200."""
    if state.config.strict:
        noun = "Customer" if record["type"] == "CustomerData" else "Vendor"
        name = record.get("display_name") or record["id"]
        raise ApiError(
            409, error_code, f"{noun} {name} is {state_name}.", {"status": [f"{noun} is {state_name}."]}
        )


@router.post("/customers/{customer_id}/archive/", tags=["customers"])
async def archive_customer(request: Request, business: Business, customer_id: str) -> Record:
    """Archive a customer. Archiving an archived one returns it unchanged (``archived_at`` and
    ``updated_at`` keep the first archive's time), or is a 409 in strict mode."""
    state = state_of(request)
    stored = _party(state, "customers", business["id"], customer_id)
    if stored.get("is_archived"):
        _refuse_repeat_when_strict(state, stored, "customer_already_archived", "already archived")
        return stored
    record = {
        **stored,
        "is_archived": True,
        "is_active": False,
        "status": "archived",
        "archived_at": now_iso(),
    }
    return save_if_changed(state, "customers", stored, record)


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
    """The only vendor archive endpoint published (CONTRACT.md §5.1 row 12). Unarchiving a vendor
    that is not archived returns it unchanged, or is a 409 in strict mode."""
    state = state_of(request)
    stored = _party(state, "vendors", business["id"], vendor_id)
    if not stored.get("is_archived"):
        _refuse_repeat_when_strict(state, stored, "vendor_not_archived", "not archived")
    record = {**stored, "is_archived": False, "is_active": True, "status": "ACTIVE", "archived_at": None}
    return save_if_changed(state, "vendors", stored, record)
