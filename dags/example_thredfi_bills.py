"""Daily payables sync: the bills dated in the run's interval, then the payments made to vendors.

Bills reference vendors and bill payments reference bills by your own ids (``vendor_external_id``,
``bill_external_id``); the operators resolve them against Thredfi before sending, so a payment
for a bill that never synced fails with a message naming the payment and the field.
"""

from __future__ import annotations

from typing import Any

import pendulum

# Airflow's names as its own provider examples import them: common-compat resolves each on 2.11
# to 3.3 (and the word "airflow" keeps this file visible to DAG discovery's safe mode).
from airflow.providers.common.compat.sdk import Asset, dag, task
from thredfi_example_source import (
    BILLS_URI,
    DEFAULT_ARGS,
    bill_payment_records,
    bill_records,
    interval_bounds,
    store_ids,
)

from thredfi_provider.operators.bills import ThredfiSyncBillPaymentsOperator, ThredfiSyncBillsOperator

try:  # Airflow 3
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 2.11
    from airflow.timetables.interval import CronDataIntervalTimetable  # type: ignore[no-redef]

BILLS = Asset(BILLS_URI)


@dag(
    default_args=DEFAULT_ARGS,
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 3, 1, tz="UTC"),
    catchup=False,
    tags=["thredfi", "example"],
)
def example_thredfi_bills() -> None:
    # [START howto_operator_thredfi_sync_bills]
    @task
    def select_bills(**context: Any) -> list[dict[str, Any]]:
        return bill_records(*interval_bounds(context))

    bills = ThredfiSyncBillsOperator(task_id="sync_bills", records=select_bills())

    @task
    def store_bill_ids(summary: dict[str, Any]) -> int:
        return store_ids("bills", summary)

    stored = store_bill_ids(bills.output)
    # [END howto_operator_thredfi_sync_bills]

    # [START howto_operator_thredfi_sync_bill_payments]
    @task
    def select_bill_payments(**context: Any) -> list[dict[str, Any]]:
        return bill_payment_records(*interval_bounds(context))

    payments_in = select_bill_payments()
    stored >> payments_in  # a payment may settle a bill synced by this very run
    paid = ThredfiSyncBillPaymentsOperator(task_id="sync_bill_payments", records=payments_in)

    @task(outlets=[BILLS])
    def store_bill_payment_ids(summary: dict[str, Any]) -> int:
        return store_ids("bill_payments", summary)

    store_bill_payment_ids(paid.output)
    # [END howto_operator_thredfi_sync_bill_payments]


example_thredfi_bills()
