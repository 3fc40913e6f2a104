"""Daily reconciliation: what Thredfi holds against the source, per resource, per business.

Scheduled after the syncs, it reads each business's lists once (O(pages)) and reports what is
missing, extra or different, with both values, writing a JSON report per resource. Trigger it
with ``{"window_start": "2024-03-01", "window_end": "2024-03-08"}`` to check a longer window.
"""

from __future__ import annotations

import os
from typing import Any

import pendulum

# Airflow's names as its own provider examples import them: common-compat resolves each on 2.11
# to 3.3 (and the word "airflow" keeps this file visible to DAG discovery's safe mode).
from airflow.providers.common.compat.sdk import Param, dag, task
from thredfi_example_source import (
    DEFAULT_ARGS,
    bill_payment_records,
    bill_records,
    interval_bounds,
    invoice_records,
    payment_records,
)

from thredfi_provider.operators.reconcile import ThredfiReconcileOperator

try:  # Airflow 3
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 2.11
    from airflow.timetables.interval import CronDataIntervalTimetable  # type: ignore[no-redef]

# [START howto_dag_thredfi_reconcile]
QUERIES = {
    "invoice": invoice_records,
    "payment": payment_records,
    "bill": bill_records,
    "bill_payment": bill_payment_records,
}
REPORTS = os.environ.get("THREDFI_EXAMPLE_REPORT_ROOT", "/tmp/thredfi-reports")  # noqa: S108 - example default


def window(context: Any) -> tuple[str, str]:
    params = context["params"]
    if params.get("window_start") and params.get("window_end"):
        return str(params["window_start"]), str(params["window_end"])
    return interval_bounds(context)


@dag(
    default_args=DEFAULT_ARGS,
    schedule=CronDataIntervalTimetable("0 6 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 3, 1, tz="UTC"),
    catchup=False,
    params={
        "window_start": Param(None, type=["null", "string"]),
        "window_end": Param(None, type=["null", "string"]),
    },
    tags=["thredfi", "example"],
)
def example_thredfi_reconcile() -> None:
    for resource, query in QUERIES.items():

        @task(task_id=f"select_{resource}")
        def select(query: Any = query, **context: Any) -> list[dict[str, Any]]:
            return query(*window(context))

        # [START howto_operator_thredfi_reconcile]
        ThredfiReconcileOperator(
            task_id=f"reconcile_{resource}",
            resource=resource,
            records=select(),
            window_start="{{ params.window_start or data_interval_start | ds }}",
            window_end="{{ params.window_end or data_interval_end | ds }}",
            report_path=f"file://{REPORTS}/{{{{ ds }}}}/{resource}.json",
            fail_on_drift=False,
        )
        # [END howto_operator_thredfi_reconcile]


example_thredfi_reconcile()
# [END howto_dag_thredfi_reconcile]
