"""The demo's cost section: a scheduled invoice sync with sync state, run after run.

What a data engineer wants to see before trusting a daily sync: a day where nothing changed costs
(almost) nothing, an edit costs one request, and a mirror run voids the invoice deleted from the
source. Each line prints what the run did and the requests it cost (the summary's own count).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any


def _run(operator: Any) -> dict[str, Any]:
    class TaskInstance:
        dag_id, run_id, task_id, map_index, try_number = "demo_cdc", "demo", operator.task_id, -1, 1

        def xcom_push(self, key: str, value: Any) -> None:
            return None

    class DagRun:
        run_after = dt.datetime(2024, 3, 2, tzinfo=dt.UTC)

    result: dict[str, Any] = operator.execute({"ti": TaskInstance(), "dag_run": DagRun()})
    return result


def _invoice(n: int, cents: int = 10_000) -> dict[str, Any]:
    return {
        "external_id": f"cdc-inv-{n}", "customer_external_id": "cdc-cust", "invoice_number": f"CDC-{n}",
        "sent_at": "2024-03-01", "due_at": "2024-03-31",
        "line_items": [{"description": "Subscription", "quantity": 1, "unit_price_cents": cents, "account_code": "4000"}],
    }  # fmt: skip


def show(state_dir: Path, invoices: int = 200) -> bool:
    """Five runs of one business's invoice sync; True when each did what it says."""
    from thredfi_provider.hooks.thredfi import ThredfiHook
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

    client = ThredfiHook().get_conn()
    business_id = str(
        client.create_business(
            {"external_id": f"demo-cdc-{state_dir.name}", "legal_name": "Delta Ltd", "entity_type": "limited",
             "email": "ops@delta.test", "country": "GB", "base_currency": "GBP"}
        ).record["id"]
    )  # fmt: skip
    client.create(business_id, "customers", {"external_id": "cdc-cust", "company_name": "Delta customer"})
    options = {"state_path": str(state_dir), "full_snapshot": True, "on_missing": "void"}

    def sync(label: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        summary = _run(
            ThredfiSyncInvoicesOperator(task_id="cdc", business_id=business_id, records=records, **options)
        )
        states = ", ".join(
            f"{summary[k]} {k}" for k in ("created", "updated", "unchanged", "removed") if summary[k]
        )
        print(f"  {label:<44} {summary['requests']:>4} requests  ({states})")
        return summary

    print(f"\nWhat a scheduled sync costs, with state_path={state_dir} (one business, {invoices} invoices):")
    records = [_invoice(n) for n in range(invoices)]
    first = sync(f"first run: {invoices} new invoices", records)
    quiet = sync("next day: nothing changed", records)
    records[7] = _invoice(7, cents=12_500)
    edit = sync("an invoice re-priced in the source", records)
    deleted = records.pop(3)["external_id"]
    mirror = sync(f"{deleted} deleted from the source (mirror)", records)
    [voided] = [r for r in client.list_records(business_id, "invoices") if r["external_id"] == deleted]
    print(f"  {deleted} in Thredfi is now {voided['status']}")
    return (
        first["created"] == invoices  # each demo run syncs into a business of its own
        and quiet["unchanged"] == invoices
        and quiet["requests"] <= 5
        and edit["updated"] == 1
        and mirror["removed"] == 1
        and str(voided["status"]).lower() == "void"
    )
