"""Daily payment recording, then a deferrable sensor waits for each fully paid invoice to show ``paid``."""

from __future__ import annotations

from typing import Any

import pendulum

# Airflow's names as its own provider examples import them: common-compat resolves each on 2.11
# to 3.3 (and the word "airflow" keeps this file visible to DAG discovery's safe mode).
from airflow.providers.common.compat.sdk import dag, task
from thredfi_example_source import DEFAULT_ARGS, interval_bounds, payment_records, settled_invoices, store_ids

from thredfi_provider.operators.payments import ThredfiSyncPaymentsOperator
from thredfi_provider.sensors.resource import ThredfiResourceSensor

try:  # Airflow 3
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 2.11
    from airflow.timetables.interval import CronDataIntervalTimetable  # type: ignore[no-redef]


@dag(
    default_args=DEFAULT_ARGS,
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 3, 1, tz="UTC"),
    catchup=False,
    tags=["thredfi", "example"],
)
def example_thredfi_payments() -> None:
    # [START howto_operator_thredfi_sync_payments]
    @task
    def select_payments(**context: Any) -> list[dict[str, Any]]:
        return payment_records(*interval_bounds(context))

    payments = select_payments()
    record = ThredfiSyncPaymentsOperator(task_id="sync_payments", records=payments)

    @task
    def store_payment_ids(summary: dict[str, Any], records: list[dict[str, Any]]) -> list[dict[str, str]]:
        """Write ids back; return the invoices these payments should have settled in full."""
        store_ids("payments", summary)
        return settled_invoices(records)

    # [END howto_operator_thredfi_sync_payments]

    # [START howto_sensor_thredfi_resource]
    ThredfiResourceSensor.partial(
        task_id="wait_until_paid",
        resource="invoice",
        condition={"status": ["paid"]},
        deferrable=True,
        poke_interval=1,
        timeout=300,
    ).expand_kwargs(store_payment_ids(record.output, payments))
    # [END howto_sensor_thredfi_resource]


example_thredfi_payments()
