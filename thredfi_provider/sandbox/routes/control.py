"""Test-only control endpoints under ``/_sandbox`` (left out of the published schema)."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Request

from thredfi_provider.sandbox.errors import ApiError
from thredfi_provider.sandbox.state import state_of

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
