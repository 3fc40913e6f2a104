"""The sandbox's reports, derived from its journal: balances, profit and loss, balance sheet.

Derived, never stored: a report is always what the posted entries add up to, so a test that
reads a report back checks the ledger too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from thredfi_provider.sandbox.ledger import DEBIT_NORMAL
from thredfi_provider.sandbox.state import SandboxState
from thredfi_provider.sandbox.store import Record


def balances(
    state: SandboxState, business_id: str, *, start: str | None = None, end: str | None = None
) -> dict[str, dict[str, int]]:
    """Debit and credit totals per account code over entries dated in [start, end]."""
    totals: dict[str, dict[str, int]] = {}
    for entry in state.store.all("journal_entries", business_id):
        date = entry["entry_date"]
        if (start and date < start) or (end and date > end):
            continue
        for line in entry["lines"]:
            t = totals.setdefault(line["account_code"], {"debit": 0, "credit": 0})
            t["debit"] += line["debit_amount"]
            t["credit"] += line["credit_amount"]
    return totals


def signed_balance(account_type: str, totals: dict[str, int]) -> int:
    if account_type in DEBIT_NORMAL:
        return totals["debit"] - totals["credit"]
    return totals["credit"] - totals["debit"]


def _sections(
    state: SandboxState, business_id: str, totals: dict[str, dict[str, int]], subtypes: Iterable[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    accounts = state.store.all("accounts", business_id)
    for subtype in subtypes:
        items = []
        for acc in accounts:
            if acc["account_subtype"] != subtype or acc["code"] not in totals:
                continue
            items.append(
                {
                    "account_id": acc["id"],
                    "account_code": acc["code"],
                    "account_name": acc["name"],
                    "value_cents": signed_balance(acc["account_type"], totals[acc["code"]]),
                }
            )
        out[subtype] = {
            "display_name": subtype.replace("_", " ").title(),
            "total_cents": sum(i["value_cents"] for i in items),
            "line_items": items,
        }
    return out


def profit_and_loss(
    state: SandboxState, business: Record, start: str, end: str, detail: str
) -> dict[str, Any]:
    totals = balances(state, business["id"], start=start, end=end)
    sections = _sections(
        state,
        business["id"],
        totals,
        (
            "revenue",
            "other_operating_income",
            "direct_costs",
            "operating_expenses",
            "finance_income",
            "finance_costs",
        ),
    )
    revenue = sections["revenue"]["total_cents"]
    other = sections["other_operating_income"]["total_cents"]
    gross = revenue - sections["direct_costs"]["total_cents"]
    operating = gross + other - sections["operating_expenses"]["total_cents"]
    before_tax = (
        operating + sections["finance_income"]["total_cents"] - sections["finance_costs"]["total_cents"]
    )
    return {
        "business_id": business["id"],
        "start_date": start,
        "end_date": end,
        "currency": business["base_currency"],
        "detail_level": detail,
        "summary": {
            "net_revenue_cents": revenue,
            "total_operating_income_cents": revenue + other,
            "gross_profit_cents": gross,
            "total_operating_expenses_cents": sections["operating_expenses"]["total_cents"],
            "operating_profit_cents": operating,
            "profit_before_tax_cents": before_tax,
            "net_profit_cents": before_tax,
        },
        **sections,
    }


def balance_sheet(state: SandboxState, business: Record, as_of: str, detail: str) -> dict[str, Any]:
    totals = balances(state, business["id"], end=as_of)
    sections = _sections(
        state,
        business["id"],
        totals,
        (
            "current_assets",
            "non_current_assets",
            "current_liabilities",
            "non_current_liabilities",
            "share_capital",
            "retained_earnings",
        ),
    )
    profit = profit_and_loss(state, business, "0001-01-01", as_of, "summary")["summary"]["net_profit_cents"]
    current_assets = sections["current_assets"]["total_cents"]
    non_current_assets = sections["non_current_assets"]["total_cents"]
    current_liabilities = sections["current_liabilities"]["total_cents"]
    non_current_liabilities = sections["non_current_liabilities"]["total_cents"]
    equity = sections["share_capital"]["total_cents"] + sections["retained_earnings"]["total_cents"] + profit
    return {
        "business_id": business["id"],
        "as_of_date": as_of,
        "currency": business["base_currency"],
        "detail_level": detail,
        "summary": {
            "total_assets_cents": current_assets + non_current_assets,
            "total_non_current_assets_cents": non_current_assets,
            "total_current_assets_cents": current_assets,
            "total_liabilities_cents": current_liabilities + non_current_liabilities,
            "total_current_liabilities_cents": current_liabilities,
            "total_non_current_liabilities_cents": non_current_liabilities,
            "total_equity_cents": equity,
            "net_assets_cents": current_assets
            + non_current_assets
            - current_liabilities
            - non_current_liabilities,
            "current_year_earnings_cents": profit,
        },
        **sections,
    }
