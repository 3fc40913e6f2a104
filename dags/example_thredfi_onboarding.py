"""Onboard the platform's businesses, their customers and vendors into Thredfi; store the Thredfi ids.

Safe to run any number of times: businesses, customers and vendors are keyed by ``external_id``,
so a rerun finds what exists and reports it ``unchanged`` (or updates what changed).
"""

from __future__ import annotations

from typing import Any

import pendulum

# Airflow's names as its own provider examples import them: common-compat resolves each on 2.11
# to 3.3 (and the word "airflow" keeps this file visible to DAG discovery's safe mode).
from airflow.providers.common.compat.sdk import Asset, dag, task
from thredfi_example_source import (
    APP_CONN_ID,
    DEFAULT_ARGS,
    ONBOARDED_URI,
    business_records,
    party_query,
    store_ids,
)

from thredfi_provider.operators.businesses import ThredfiSyncBusinessesOperator
from thredfi_provider.operators.parties import ThredfiSyncCustomersOperator, ThredfiSyncVendorsOperator
from thredfi_provider.operators.sources import SqlRecords

ONBOARDED = Asset(ONBOARDED_URI)


@dag(
    default_args=DEFAULT_ARGS,
    schedule="@daily",
    start_date=pendulum.datetime(2024, 3, 1, tz="UTC"),
    catchup=False,
    tags=["thredfi", "example"],
)
def example_thredfi_onboarding() -> None:
    # [START howto_operator_thredfi_sync_businesses]
    @task
    def load_businesses() -> list[dict[str, Any]]:
        return business_records()

    onboard = ThredfiSyncBusinessesOperator(task_id="sync_businesses", records=load_businesses())

    @task
    def store_business_ids(summary: dict[str, Any]) -> int:
        return store_ids("businesses", summary)

    stored = store_business_ids(onboard.output)
    # [END howto_operator_thredfi_sync_businesses]

    # [START howto_operator_thredfi_sync_parties]
    # Customers and vendors are flat rows: stream them straight from the application's database.
    customers = ThredfiSyncCustomersOperator(
        task_id="sync_customers", records=SqlRecords(conn_id=APP_CONN_ID, sql=party_query("customers"))
    )
    vendors = ThredfiSyncVendorsOperator(
        task_id="sync_vendors", records=SqlRecords(conn_id=APP_CONN_ID, sql=party_query("vendors"))
    )
    stored >> [customers, vendors]

    @task(outlets=[ONBOARDED])
    def store_party_ids(customers: dict[str, Any], vendors: dict[str, Any]) -> int:
        return store_ids("customers", customers) + store_ids("vendors", vendors)

    store_party_ids(customers.output, vendors.output)
    # [END howto_operator_thredfi_sync_parties]


example_thredfi_onboarding()
