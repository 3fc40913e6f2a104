"""Daily invoice sync fanned out per business with dynamic task mapping.

One mapped task instance per business: on a distributed executor the instances spread over the
workers, each pulls only its own business's item of the upstream XCom and keeps only its own
lookups, and a failed instance is retried alone (its reruns are exact: creates are keyed by
``external_id``). Each instance writes its ids back from its own summary, whichever form it took
(inline, or a details report when large). A large report is read by ``store_invoice_ids``, which
may run on another worker: set the Airflow Variable ``thredfi_details_path`` to storage every
worker reads (``s3://bucket/thredfi/``); unset, reports go beside the task logs (one machine).

The day's records pass through one XCom, which suits a day's volume. For a bulk load, map over
chunks of business ids and let each instance read its own records (a generator or
``SqlRecords``), as ``scripts/distributed/thredfi_scale_dags.py`` does.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pendulum

# Airflow's names as its own provider examples import them: common-compat resolves each on 2.11
# to 3.3 (and the word "airflow" keeps this file visible to DAG discovery's safe mode).
from airflow.providers.common.compat.sdk import dag, task
from thredfi_example_source import DEFAULT_ARGS, interval_bounds, invoice_records, store_ids

from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

try:  # Airflow 3
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 2.11
    from airflow.timetables.interval import CronDataIntervalTimetable  # type: ignore[no-redef]


@dag(
    default_args=DEFAULT_ARGS,
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 3, 1, tz="UTC"),
    catchup=False,
    max_active_tasks=8,
    tags=["thredfi", "example"],
)
def example_thredfi_mapped_sync() -> None:
    # [START howto_operator_thredfi_mapped_sync]
    @task
    def per_business(**context: Any) -> list[dict[str, Any]]:
        """One set of operator arguments per business with invoices in the run's interval."""
        by_business: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in invoice_records(*interval_bounds(context)):
            by_business[record["business_id"]].append(record)
        return [{"business_id": b, "records": r} for b, r in sorted(by_business.items())]

    synced = ThredfiSyncInvoicesOperator.partial(
        task_id="sync_invoices",
        max_workers=4,  # per instance: instances x max_workers is what Thredfi's rate limit sees
        chunk_size=5_000,
        on_conflict="warn",
        details_path="{{ var.value.get('thredfi_details_path', '') }}",
        map_index_template="{{ task.business_id }}",
    ).expand_kwargs(per_business())

    @task
    def store_invoice_ids(summary: dict[str, Any]) -> int:
        return store_ids("invoices", summary)

    store_invoice_ids.expand(summary=synced.output)
    # [END howto_operator_thredfi_mapped_sync]


example_thredfi_mapped_sync()
