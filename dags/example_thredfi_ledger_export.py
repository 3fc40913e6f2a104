"""Daily general-ledger export: one JSON Lines file per business per interval (plus its P&L)."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, dag, task

from thredfi_provider.operators.ledger import ThredfiExportLedgerOperator

APP_CONN_ID = "thredfi_example_app"
EXPORT_ROOT = os.environ.get("THREDFI_EXAMPLE_EXPORT_ROOT", "/tmp/thredfi-ledger")  # noqa: S108


@dag(
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
    catchup=False,
    tags=["thredfi", "example"],
)
def example_thredfi_ledger_export() -> None:
    @task
    def businesses() -> list[dict[str, Any]]:
        from airflow.providers.sqlite.hooks.sqlite import SqliteHook

        rows = SqliteHook(sqlite_conn_id=APP_CONN_ID).get_records(
            "SELECT id, thredfi_business_id FROM businesses WHERE thredfi_business_id IS NOT NULL ORDER BY id"
        )
        return [
            {"business_id": r[1], "path": f"file://{EXPORT_ROOT}/biz-{r[0]}/{{{{ ds }}}}.jsonl"} for r in rows
        ]

    ThredfiExportLedgerOperator.partial(task_id="export_ledger", reports=["profit-and-loss"]).expand_kwargs(
        businesses()
    )


example_thredfi_ledger_export()
