"""Double-entry bookkeeping for the sandbox: a default chart, balanced postings, reports.

Every invoice, payment, bill and bill payment posts one balanced journal entry, so the
ledger an export reads back reconciles with what was sent, and reports derive from it.
"""

from __future__ import annotations

from collections.abc import Iterable

from thredfi_provider.sandbox.errors import ApiError
from thredfi_provider.sandbox.state import SandboxState, new_id, now_iso
from thredfi_provider.sandbox.store import Record

# code, name, account_type, account_subtype
DEFAULT_CHART: tuple[tuple[str, str, str, str], ...] = (
    ("1000", "Bank", "asset", "current_assets"),
    ("1100", "Accounts Receivable", "asset", "current_assets"),
    ("1300", "Vendor Prepayments", "asset", "current_assets"),
    ("1500", "Equipment", "asset", "non_current_assets"),
    ("2000", "Accounts Payable", "liability", "current_liabilities"),
    ("2300", "Customer Prepayments", "liability", "current_liabilities"),
    ("3000", "Share Capital", "equity", "share_capital"),
    ("3200", "Retained Earnings", "equity", "retained_earnings"),
    ("4000", "Sales", "revenue", "revenue"),
    ("4100", "Services Revenue", "revenue", "revenue"),
    ("4900", "Other Operating Income", "revenue", "other_operating_income"),
    ("5000", "Cost of Sales", "expense", "direct_costs"),
    ("6000", "Operating Expenses", "expense", "operating_expenses"),
    ("6100", "Software Subscriptions", "expense", "operating_expenses"),
    ("6200", "Rent", "expense", "operating_expenses"),
    ("7000", "Bank Fees", "expense", "finance_costs"),
)
AR, AP, BANK, CUSTOMER_PREPAY, VENDOR_PREPAY = "1100", "2000", "1000", "2300", "1300"
DEBIT_NORMAL = {"asset", "expense"}
Posting = tuple[str, int, int, str]  # (account_code, debit, credit, description)


def seed_chart(state: SandboxState, business: Record) -> None:
    accounts = [
        {
            "id": new_id(),
            "business_id": business["id"],
            "code": code,
            "name": name,
            "currency": business["base_currency"],
            "account_type": kind,
            "account_type_display": kind.title(),
            "account_subtype": subtype,
            "account_subtype_display": subtype.replace("_", " ").title(),
            "parent_account_code": None,
            "has_children": False,
            "hierarchy_level": 0,
            "is_active": True,
        }
        for code, name, kind, subtype in DEFAULT_CHART
    ]
    state.store.put_many("accounts", accounts)


def account(state: SandboxState, business_id: str, code: str) -> Record | None:
    for acc in state.store.all("accounts", business_id):
        if acc["code"] == code:
            return acc
    return None


def require_account(state: SandboxState, business_id: str, code: str, field: str, kinds: set[str]) -> Record:
    acc = account(state, business_id, code)
    if acc is None or acc["account_type"] not in kinds:
        expected = " or ".join(sorted(kinds))
        raise ApiError(
            400,
            "validation_error",
            "Validation errors in request data",
            {field: [f"Account code {code!r} is not a known {expected} account."]},
        )
    return acc


def post(
    state: SandboxState,
    business: Record,
    *,
    entry_date: str,
    description: str,
    source_type: str,
    source_reference: str,
    lines: Iterable[Posting],
) -> Record:
    """Post one balanced entry; ``lines`` are (account_code, debit, credit, description)."""
    rendered = []
    for number, (code, debit, credit, text) in enumerate(lines, start=1):
        if debit == 0 and credit == 0:
            continue
        acc = account(state, business["id"], code)
        assert acc is not None, code
        rendered.append(
            {
                "id": new_id(),
                "line_number": number,
                "account_code": code,
                "account_name": acc["name"],
                "account_type": acc["account_type"],
                "debit_amount": debit,
                "credit_amount": credit,
                "description": text,
                "external_reference": source_reference,
            }
        )
    total_debit = sum(line["debit_amount"] for line in rendered)
    total_credit = sum(line["credit_amount"] for line in rendered)
    if total_debit != total_credit:  # pragma: no cover - a sandbox bug, never user input
        raise AssertionError(f"unbalanced entry {total_debit} != {total_credit}")
    sequence = state.store.count_owned("journal_entries", business["id"]) + 1
    year, month = int(entry_date[:4]), int(entry_date[5:7])
    now = now_iso()
    entry = {
        "id": new_id(),
        "business_id": business["id"],
        "sequence_number": sequence,
        "entry_date": entry_date,
        "reference": f"JE-{sequence:06d}",
        "description": description,
        "currency": business["base_currency"],
        "total_debit": total_debit,
        "total_credit": total_credit,
        "is_balanced": True,
        "created_by": "system",
        "status": "approved",
        "is_posted": True,
        "posted_at": now,
        "bank_transaction_id": None,
        "source_type": source_type,
        "source_reference": source_reference,
        "created_at": now,
        "accounting_period": {
            "id": f"{business['id']}-{year}-{month:02d}",
            "year": year,
            "month": month,
            "period_name": f"{year}-{month:02d}",
            "status": "open",
        },
        "lines": rendered,
    }
    return state.store.put("journal_entries", entry)


def posted_net(
    state: SandboxState, business_id: str, source_type: str, source_reference: str
) -> dict[str, dict[str, int]]:
    """What the ledger holds for one document: per entry date, per account, debit minus credit
    (zero nets left out), summed over every entry posted for it, reversals included."""
    net: dict[str, dict[str, int]] = {}
    for entry in state.store.by_source("journal_entries", source_reference):
        if entry["business_id"] != business_id or entry["source_type"] != source_type:
            continue
        day = net.setdefault(entry["entry_date"], {})
        for line in entry["lines"]:
            day[line["account_code"]] = day.get(line["account_code"], 0) + line["debit_amount"]
            day[line["account_code"]] -= line["credit_amount"]
    return {d: {c: v for c, v in accs.items() if v} for d, accs in net.items() if any(accs.values())}


def _net(lines: Iterable[Posting]) -> dict[str, int]:
    out: dict[str, int] = {}
    for code, debit, credit, _text in lines:
        out[code] = out.get(code, 0) + debit - credit
    return {c: v for c, v in out.items() if v}


def repost(
    state: SandboxState,
    business: Record,
    *,
    source_type: str,
    source_reference: str,
    entry_date: str,
    description: str,
    lines: list[Posting],
) -> list[Record]:
    """Make a document's postings equal ``lines`` on ``entry_date``; ``lines=[]`` removes them.

    Posted entries are never edited or deleted: whatever the ledger holds for the document is
    reversed by a new entry on the date it was posted (so every report period shows the
    document as it now is), then ``lines`` are posted. When the ledger already holds exactly
    ``lines`` on ``entry_date`` nothing is posted, so a repeated update or void posts nothing.
    """
    current = posted_net(state, business["id"], source_type, source_reference)
    target = _net(lines)
    if current == ({entry_date: target} if target else {}):
        return []
    posted = []
    for day, accounts in sorted(current.items()):
        reversal = [
            (code, -amount if amount < 0 else 0, amount if amount > 0 else 0, f"Reversal: {description}")
            for code, amount in sorted(accounts.items())
        ]
        posted.append(
            post(
                state,
                business,
                entry_date=day,
                description=f"Reversal: {description}",
                source_type=source_type,
                source_reference=source_reference,
                lines=reversal,
            )
        )
    if target:
        posted.append(
            post(
                state,
                business,
                entry_date=entry_date,
                description=description,
                source_type=source_type,
                source_reference=source_reference,
                lines=lines,
            )
        )
    return posted
