"""Daily general-ledger export: one JSON Lines file per business per interval (plus its P&L)."""

from __future__ import annotations

from typing import Any

import pendulum

# Airflow's names as its own provider examples import them: common-compat resolves each on 2.11
# to 3.3 (and the word "airflow" keeps this file visible to DAG discovery's safe mode).
from airflow.providers.common.compat.sdk import Asset, dag, task
from thredfi_example_source import DEFAULT_ARGS, LEDGER_URI, export_targets

from thredfi_provider.operators.ledger import ThredfiExportLedgerOperator

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
def example_thredfi_ledger_export() -> None:
    # [START howto_operator_thredfi_export_ledger]
    @task
    def businesses() -> list[dict[str, Any]]:
        return export_targets()

    ThredfiExportLedgerOperator.partial(
        task_id="export_ledger", reports=["profit-and-loss"], outlets=[Asset(LEDGER_URI)]
    ).expand_kwargs(businesses())
    # [END howto_operator_thredfi_export_ledger]


example_thredfi_ledger_export()
