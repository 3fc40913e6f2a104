"""Daily payment recording, then a deferrable sensor waits for each fully paid invoice to show ``paid``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, dag, task
from thredfi_example_source import interval_bounds

from thredfi_provider.operators.payments import ThredfiRecordPaymentsOperator
from thredfi_provider.sensors.resource import ThredfiResourceSensor

APP_CONN_ID = "thredfi_example_app"


@dag(
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
    catchup=False,
    tags=["thredfi", "example"],
)
def example_thredfi_payments() -> None:
    @task
    def select_payments(**context: Any) -> list[dict[str, Any]]:
        from airflow.providers.sqlite.hooks.sqlite import SqliteHook

        start, end = interval_bounds(context)
        rows = SqliteHook(sqlite_conn_id=APP_CONN_ID).get_records(
            "SELECT p.id, p.invoice_id, p.paid_on, p.amount_cents, b.thredfi_business_id FROM payments p"
            " JOIN invoices i ON i.id = p.invoice_id JOIN customers c ON c.id = i.customer_id"
            " JOIN businesses b ON b.id = c.business_id WHERE p.paid_on >= ? AND p.paid_on < ? ORDER BY p.id",
            parameters=(start, end),
        )
        return [
            {"external_id": f"pay-{r[0]}", "business_id": r[4], "amount_cents": r[3], "payment_date": r[2],
             "allocations": [{"invoice_external_id": f"inv-{r[1]}", "amount_cents": r[3]}]}
            for r in rows
        ]  # fmt: skip

    payments = select_payments()
    record = ThredfiRecordPaymentsOperator(task_id="record_payments", records=payments)

    @task
    def store_payment_ids(summary: dict[str, Any], records: list[dict[str, Any]]) -> list[dict[str, str]]:
        """Write ids back; return the invoices these payments should have settled in full."""
        from airflow.providers.sqlite.hooks.sqlite import SqliteHook

        db = SqliteHook(sqlite_conn_id=APP_CONN_ID)
        for external_id, thredfi_id in summary["ids"].items():
            db.run(
                "UPDATE payments SET thredfi_payment_id = ? WHERE id = ?",
                parameters=(thredfi_id, int(external_id[4:])),
            )
        settled = []
        for rec in records:
            invoice_id = int(rec["allocations"][0]["invoice_external_id"][4:])
            due, paid = db.get_first(
                "SELECT i.quantity * i.unit_price_cents, (SELECT SUM(amount_cents) FROM payments p"
                " WHERE p.invoice_id = i.id AND p.paid_on <= ?) FROM invoices i WHERE i.id = ?",
                parameters=(rec["payment_date"], invoice_id),
            )
            if paid == due:
                settled.append({"business_id": rec["business_id"], "external_id": f"inv-{invoice_id}"})
        return settled

    settled = store_payment_ids(record.output, payments)
    ThredfiResourceSensor.partial(
        task_id="wait_until_paid",
        resource="invoice",
        condition={"status": ["paid"]},
        deferrable=True,
        poke_interval=1,
        timeout=300,
    ).expand_kwargs(settled)


example_thredfi_payments()
