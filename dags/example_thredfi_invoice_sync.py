"""Daily invoice sync: the invoices issued in the run's data interval go to Thredfi.

Works for scheduled runs, backfills (each run owns its interval) and manual runs (no logical
date: the day of ``run_after``). Rerunning any interval creates nothing new.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import Asset, CronDataIntervalTimetable, dag, task
from thredfi_example_source import interval_bounds

from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

APP_CONN_ID = "thredfi_example_app"
INVOICES = Asset("thredfi://example/invoices")


@dag(
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
    catchup=False,
    tags=["thredfi", "example"],
)
def example_thredfi_invoice_sync() -> None:
    @task
    def select_invoices(**context: Any) -> list[dict[str, Any]]:
        from airflow.providers.sqlite.hooks.sqlite import SqliteHook

        start, end = interval_bounds(context)
        rows = SqliteHook(sqlite_conn_id=APP_CONN_ID).get_records(
            "SELECT i.id, i.customer_id, i.number, i.issued_on, i.due_on, i.description, i.quantity,"
            " i.unit_price_cents, b.thredfi_business_id FROM invoices i JOIN customers c ON c.id = i.customer_id"
            " JOIN businesses b ON b.id = c.business_id WHERE i.issued_on >= ? AND i.issued_on < ? ORDER BY i.id",
            parameters=(start, end),
        )
        return [
            {"external_id": f"inv-{r[0]}", "business_id": r[8], "customer_external_id": f"cust-{r[1]}",
             "invoice_number": r[2], "sent_at": r[3], "due_at": r[4],
             "line_items": [{"description": r[5], "quantity": r[6], "unit_price_cents": r[7], "account_code": "4000"}]}
            for r in rows
        ]  # fmt: skip

    sync = ThredfiSyncInvoicesOperator(
        task_id="sync_invoices", records=select_invoices(), max_workers=8, outlets=[INVOICES]
    )

    @task
    def store_invoice_ids(summary: dict[str, Any]) -> int:
        from airflow.providers.sqlite.hooks.sqlite import SqliteHook

        db = SqliteHook(sqlite_conn_id=APP_CONN_ID)
        for external_id, thredfi_id in summary["ids"].items():
            db.run(
                "UPDATE invoices SET thredfi_invoice_id = ? WHERE id = ?",
                parameters=(thredfi_id, int(external_id[4:])),
            )
        return len(summary["ids"])

    store_invoice_ids(sync.output)


example_thredfi_invoice_sync()
