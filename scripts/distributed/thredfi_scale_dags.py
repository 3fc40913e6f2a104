"""The distributed run's workload: a mapped bulk sync and a daily sync, for many businesses.

``thredfi_scale_bulk`` (triggered once): a task group mapped over chunks of businesses; each
instance onboards its businesses, stores their Thredfi ids, upserts their customers and syncs
their history invoices and payments. Each mapped instance carries only its chunk's records
through XCom, so a retry redoes one chunk, never the whole load.

``thredfi_scale_daily`` (scheduled daily, and backfilled): each run syncs the invoices issued
and the payments made in its day plus a look-back day, and the invoices those payments settle,
for the businesses with daily activity, split over a few mapped instances so one run spreads
over several workers. Consecutive runs,
backfill runs and scheduled runs therefore touch the same records at the same time on different
workers; idempotent creates make the end state that of one run.

Knobs come from the environment that ``scripts/distributed.py`` gives every Airflow component.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, task, task_group
from thredfi_scale_source import chunks, env_int

from thredfi_provider.operators.businesses import ThredfiSyncBusinessesOperator
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
from thredfi_provider.operators.parties import ThredfiSyncCustomersOperator
from thredfi_provider.operators.payments import ThredfiSyncPaymentsOperator

# [START howto_dag_thredfi_scale_default_args]
# A killed worker or a Thredfi outage longer than the client's own retry budget is retried by
# Airflow, with growing waits; every sync is idempotent, so a retry never duplicates.
DEFAULT_ARGS: dict[str, Any] = {
    "retries": env_int("THREDFI_SCALE_RETRIES", 6),
    "retry_delay": dt.timedelta(seconds=env_int("THREDFI_SCALE_RETRY_DELAY", 5)),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": dt.timedelta(minutes=2),
    # Finish a chunk before starting the next (the default, "downstream", runs every chunk's
    # first task before any chunk's second): records reach Thredfi from the first minute on.
    "weight_rule": "upstream",
}
# [END howto_dag_thredfi_scale_default_args]
MAX_WORKERS = env_int("THREDFI_SCALE_MAX_WORKERS", 8)  # threads per mapped instance
LOOKBACK_DAYS = env_int("THREDFI_SCALE_LOOKBACK_DAYS", 1)
# The first scheduled day: the orchestrator sets it a few days back, so the scheduler's own runs
# keep coming while the backfill replays the window. Without it the DAG only runs when asked.
FIRST_SCHEDULED_DAY = os.environ.get("THREDFI_SCALE_SCHEDULED_FROM")


# [START howto_dag_thredfi_scale_bulk]
@dag(
    dag_id="thredfi_scale_bulk",
    default_args=DEFAULT_ARGS,
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_tasks=64,
    tags=["thredfi", "scale"],
)
def thredfi_scale_bulk() -> None:
    @task
    def plan() -> list[list[dict[str, Any]]]:
        """One list of business records per mapped instance."""
        from thredfi_scale_source import business_records

        return [business_records(ids) for ids in chunks(env_int("THREDFI_SCALE_BUSINESSES_PER_TASK", 1))]

    @task(multiple_outputs=True)
    def load_records(onboarded: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        """Store the Thredfi ids, then read this chunk's customers, invoices and payments."""
        import thredfi_scale_source as source

        from thredfi_provider.operators.summary import read_ids

        business_ids = read_ids(onboarded)  # from the summary, inline or its details report
        source.store_business_ids(business_ids)
        ids = [int(ext.removeprefix(f"{source.PREFIX}biz-")) for ext in business_ids]
        return {
            "customers": source.customer_records(ids),
            "invoices": source.invoice_records(ids, part="history"),
            "payments": source.payment_records(ids, part="history"),
        }

    @task_group
    def sync_chunk(businesses: list[dict[str, Any]]) -> None:
        onboard = ThredfiSyncBusinessesOperator(
            task_id="onboard", records=businesses, max_workers=MAX_WORKERS
        )
        records = load_records(onboard.output)
        customers = ThredfiSyncCustomersOperator(
            task_id="upsert_customers", records=records["customers"], max_workers=MAX_WORKERS
        )
        invoices = ThredfiSyncInvoicesOperator(
            task_id="sync_invoices", records=records["invoices"], max_workers=MAX_WORKERS
        )
        payments = ThredfiSyncPaymentsOperator(
            task_id="record_payments", records=records["payments"], max_workers=MAX_WORKERS
        )
        customers >> invoices >> payments

    sync_chunk.expand(businesses=plan())


thredfi_scale_bulk()
# [END howto_dag_thredfi_scale_bulk]


@dag(
    dag_id="thredfi_scale_daily",
    default_args=DEFAULT_ARGS,
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.parse(FIRST_SCHEDULED_DAY or "2024-01-01", tz="UTC"),
    catchup=FIRST_SCHEDULED_DAY is not None,
    max_active_runs=4,
    max_active_tasks=64,
    tags=["thredfi", "scale"],
)
def thredfi_scale_daily() -> None:
    @task
    def plan(**context: Any) -> list[dict[str, Any]]:
        """Split the onboarded businesses over a few mapped instances; each gets the run's window."""
        start = context["data_interval_start"].subtract(days=LOOKBACK_DAYS).date()
        end = context["data_interval_end"].date()
        return [
            {"business_ids": ids, "start": start.isoformat(), "end": end.isoformat()}
            for ids in chunks(0, count=env_int("THREDFI_SCALE_DAILY_CHUNKS", 2), part="daily")
        ]

    @task(multiple_outputs=True)
    def load_day(chunk: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        import thredfi_scale_source as source

        window = {"start": chunk["start"], "end": chunk["end"]}
        return {
            "invoices": source.invoice_records(chunk["business_ids"], **window),
            "payments": source.payment_records(chunk["business_ids"], **window),
        }

    @task_group
    def sync_day_chunk(chunk: dict[str, Any]) -> None:
        records = load_day(chunk)
        invoices = ThredfiSyncInvoicesOperator(
            task_id="sync_invoices", records=records["invoices"], max_workers=MAX_WORKERS
        )
        payments = ThredfiSyncPaymentsOperator(
            task_id="record_payments", records=records["payments"], max_workers=MAX_WORKERS
        )
        invoices >> payments

    sync_day_chunk.expand(chunk=plan())


thredfi_scale_daily()
