"""Downstream of the ledger: whenever a ledger export lands, snapshot each business's trial balance.

Scheduled on the ledger Asset, not on a clock, so it runs exactly when Thredfi has new entries.
It reads the chart of accounts (with balances) through the generic ``ThredfiOperator``, the way
to reach any endpoint the named operators do not cover, and stores it in the source database.
"""

# [START howto_dag_thredfi_trial_balance]
from __future__ import annotations

from typing import Any

import pendulum

# Airflow's names as its own provider examples import them: common-compat resolves each on 2.11
# to 3.3 (and the word "airflow" keeps this file visible to DAG discovery's safe mode).
from airflow.providers.common.compat.sdk import Asset, dag, task
from thredfi_example_source import DEFAULT_ARGS, LEDGER_URI, onboarded_businesses, store_trial_balance

from thredfi_provider.operators.generic import ThredfiOperator


@dag(
    default_args=DEFAULT_ARGS,
    schedule=[Asset(LEDGER_URI)],
    start_date=pendulum.datetime(2024, 3, 1, tz="UTC"),
    catchup=False,
    tags=["thredfi", "example"],
)
def example_thredfi_trial_balance() -> None:
    # [START howto_operator_thredfi_generic]
    @task
    def accounts_calls() -> list[dict[str, Any]]:
        return [
            {"business_id": thredfi_id, "path": f"businesses/{thredfi_id}/general-ledger/chart-of-accounts/"}
            for _, thredfi_id in onboarded_businesses()
        ]

    calls = accounts_calls()
    charts = ThredfiOperator.partial(task_id="chart_of_accounts", method="GET", paginate=True).expand_kwargs(
        calls
    )

    @task(multiple_outputs=False)
    def store(
        calls: list[dict[str, Any]], charts: list[list[dict[str, Any]]], **context: Any
    ) -> dict[str, int]:
        as_of = context["dag_run"].run_after.date().isoformat()
        # Index by the known count: iterating the lazy mapped-XCom sequence probes past its end.
        return store_trial_balance(
            as_of, [c["business_id"] for c in calls], [charts[i] for i in range(len(calls))]
        )

    store(calls, charts.output)
    # [END howto_operator_thredfi_generic]


example_thredfi_trial_balance()
# [END howto_dag_thredfi_trial_balance]
