"""Chart of accounts, journal entries and the reports derived from them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from thredfi_provider.sandbox import reports
from thredfi_provider.sandbox.errors import ApiError
from thredfi_provider.sandbox.models import parse_date
from thredfi_provider.sandbox.routes.common import in_range, split_ids
from thredfi_provider.sandbox.state import (
    business_context,
    list_filters,
    paginate,
    query_key,
    state_of,
    today,
)
from thredfi_provider.sandbox.store import Record

router = APIRouter(prefix="/v1/platform/businesses/{business_id}")
Business = Annotated[Record, Depends(business_context)]


def _date_param(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError:
        raise ApiError(
            400, "validation_error", "Validation errors in request data", {name: ["Enter a valid date."]}
        ) from None


@router.get("/general-ledger/chart-of-accounts/", tags=["general-ledger"])
async def list_accounts(
    request: Request, business: Business, account_type: str | None = None
) -> dict[str, Any]:
    """The parameter is declared for the schema; the filter is read through ``list_filters``."""
    state = state_of(request)
    totals = reports.balances(state, business["id"])
    wanted = list_filters(request, "accounts").get("account_type")

    def render(acc: Record) -> Record:
        t = totals.get(acc["code"], {"debit": 0, "credit": 0})
        balance = reports.signed_balance(acc["account_type"], t)
        return {
            **acc,
            "current_balance": balance,
            "current_balance_formatted": f"{balance / 100:,.2f} {acc['currency']}",
            "debit_balance": t["debit"],
            "credit_balance": t["credit"],
        }

    accounts = [
        a for a in state.store.all("accounts", business["id"]) if not wanted or a["account_type"] == wanted
    ]
    return paginate(request, accounts, render)


@router.get("/general-ledger/journal-entries/", tags=["general-ledger"])
async def list_journal_entries(
    request: Request,
    business: Business,
    date_from: str | None = None,
    date_to: str | None = None,
    status: str | None = None,
    source_type: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1)] = 20,
) -> dict[str, Any]:
    """Entries with their lines, so an export needs no per-entry detail call.

    The parameters are declared for the schema; filters are read through ``list_filters``.
    """
    state = state_of(request)
    q = list_filters(request, "journal_entries")
    start, end = _date_param("date_from", q.get("date_from")), _date_param("date_to", q.get("date_to"))
    statuses = split_ids(q.get("status"))

    def keep(r: Record) -> bool:
        return (
            in_range(r["entry_date"], start, end)
            and (not statuses or r["status"] in statuses)
            and (not q.get("source_type") or r["source_type"] == q["source_type"])
        )

    key = query_key(q, "date_from", "date_to", "status", "source_type")
    return paginate(request, state.store.query("journal_entries", business["id"], key, keep))


@router.get("/general-ledger/journal-entries/{entry_id}/", tags=["general-ledger"])
async def get_journal_entry(request: Request, business: Business, entry_id: str) -> Record:
    entry = state_of(request).store.get("journal_entries", entry_id)
    if entry is None or entry["business_id"] != business["id"]:
        raise ApiError(404, "journal_entry_not_found", "Journal entry not found.")
    return entry


@router.get("/reports/profit-and-loss/", tags=["reports"])
async def profit_and_loss(
    request: Request,
    business: Business,
    start_date: str | None = None,
    end_date: str | None = None,
    detail_level: str = "summary",
) -> dict[str, Any]:
    start = _date_param("start_date", start_date) or f"{today()[:4]}-01-01"
    end = _date_param("end_date", end_date) or today()
    return reports.profit_and_loss(state_of(request), business, start, end, detail_level)


@router.get("/reports/balance-sheet/", tags=["reports"])
async def balance_sheet(
    request: Request, business: Business, as_of_date: str | None = None, detail_level: str = "summary"
) -> dict[str, Any]:
    as_of = _date_param("as_of_date", as_of_date) or today()
    return reports.balance_sheet(state_of(request), business, as_of, detail_level)
