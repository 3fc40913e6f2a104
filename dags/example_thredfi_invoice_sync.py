"""Daily invoice sync: the invoices issued in the run's data interval go to Thredfi.

Works for scheduled runs, backfills (each run owns its interval) and manual runs (no logical
date: the day of ``run_after``). Rerunning any interval creates nothing new.
"""

# [START howto_dag_thredfi_invoice_sync]
from __future__ import annotations

from typing import Any

import pendulum

# Airflow's names as its own provider examples import them: common-compat resolves each on 2.11
# to 3.3 (and the word "airflow" keeps this file visible to DAG discovery's safe mode).
from airflow.providers.common.compat.sdk import Asset, dag, task
from thredfi_example_source import DEFAULT_ARGS, INVOICES_URI, interval_bounds, invoice_records, store_ids

from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

try:  # Airflow 3
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 2.11
    from airflow.timetables.interval import CronDataIntervalTimetable  # type: ignore[no-redef]

INVOICES = Asset(INVOICES_URI)


@dag(
    default_args=DEFAULT_ARGS,
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 3, 1, tz="UTC"),
    catchup=False,
    tags=["thredfi", "example"],
)
def example_thredfi_invoice_sync() -> None:
    # [START howto_operator_thredfi_sync_invoices]
    @task
    def select_invoices(**context: Any) -> list[dict[str, Any]]:
        return invoice_records(*interval_bounds(context))

    # An edit Thredfi cannot apply (a paid invoice re-priced) is reported in the summary and
    # logged, and the day's other invoices still sync; a reconciliation downstream names it again.
    sync = ThredfiSyncInvoicesOperator(
        task_id="sync_invoices",
        records=select_invoices(),
        max_workers=8,
        on_conflict="warn",
        outlets=[INVOICES],
    )

    @task
    def store_invoice_ids(summary: dict[str, Any]) -> int:
        return store_ids("invoices", summary)

    store_invoice_ids(sync.output)
    # [END howto_operator_thredfi_sync_invoices]


example_thredfi_invoice_sync()
# [END howto_dag_thredfi_invoice_sync]
