"""Daily general-ledger export: one JSON Lines file per business per interval (plus its P&L)."""

from __future__ import annotations

from typing import Any

import pendulum
from thredfi_example_source import DEFAULT_ARGS, LEDGER_URI, export_targets

# Airflow names through the provider's one import seam (2.11 to 3.3); the word "airflow" also
# keeps this file visible to DAG discovery's safe mode.
from thredfi_provider.compat import Asset, CronDataIntervalTimetable, dag, task
from thredfi_provider.operators.ledger import ThredfiExportLedgerOperator


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
