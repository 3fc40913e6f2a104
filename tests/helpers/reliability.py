"""Helpers for the reliability suite: task retries, seeded businesses, records and the exact final state."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from tests.helpers import make_client, onboard
from tests.helpers.operators import invoice, run


def run_with_task_retries(make_operator: Callable[[], Any], retries: int = 3) -> tuple[Any, int]:
    """Execute like Airflow with ``retries``: a retryable failure reruns the whole task."""
    from airflow.sdk.exceptions import AirflowFailException

    for attempt in range(1, retries + 2):
        try:
            result, _ti = run(make_operator())
            return result, attempt
        except AirflowFailException:
            raise
        except Exception:
            if attempt > retries:
                raise
    raise AssertionError("unreachable")


def business_with_customers(sandbox, external_id: str = "acme", customers: int = 1) -> str:
    client = make_client(sandbox)
    business_id = onboard(client, external_id)
    for n in range(1, customers + 1):
        client.create(business_id, "customers", {"external_id": f"cust-{n}", "company_name": f"Customer {n}"})
    return business_id


def invoice_records(n: int, prefix: str = "inv") -> list[dict[str, Any]]:
    """``n`` valid invoices of distinct amounts (1000 + i cents), which ``payment_records`` settles."""
    return [invoice(i, cents=1000 + i, external_id=f"{prefix}-{i}") for i in range(n)]


def payment_records(n: int, prefix: str = "inv") -> list[dict[str, Any]]:
    return [
        {"external_id": f"pay-{i}", "amount_cents": 1000 + i, "payment_date": "2024-03-05",
         "allocations": [{"invoice_external_id": f"{prefix}-{i}", "amount_cents": 1000 + i}]}
        for i in range(n)
    ]  # fmt: skip


def ledger_state(sandbox, business_id: str) -> dict[str, Any]:
    """What "exact" means: each external id once, every payment applied once, one entry per document."""
    invoices = sandbox.records("invoices", business_id)
    payments = sandbox.records("payments", business_id)
    return {
        "invoices": Counter(i["external_id"] for i in invoices),
        "payments": Counter(p["external_id"] for p in payments),
        "paid": sorted(i["external_id"] for i in invoices if i["status"] == "paid"),
        "outstanding_cents": sum(i.get("outstanding_amount_cents", 0) for i in invoices),
        "journal_entries": len(sandbox.records("journal_entries", business_id)),
    }
