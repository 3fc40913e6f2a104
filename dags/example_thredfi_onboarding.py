"""Onboard the platform's businesses, their customers and vendors into Thredfi; store the Thredfi ids.

Safe to run any number of times: businesses, customers and vendors are keyed by ``external_id``,
so a rerun finds what exists and reports it ``unchanged`` (or updates what changed).
"""

from __future__ import annotations

from typing import Any

import pendulum
from thredfi_example_source import DEFAULT_ARGS, ONBOARDED_URI, business_records, party_records, store_ids

# Airflow names through the provider's one import seam (2.11 to 3.3); the word "airflow" also
# keeps this file visible to DAG discovery's safe mode.
from thredfi_provider.compat import Asset, dag, task
from thredfi_provider.operators.businesses import ThredfiSyncBusinessesOperator
from thredfi_provider.operators.parties import ThredfiSyncCustomersOperator, ThredfiSyncVendorsOperator

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
    @task
    def load_customers() -> list[dict[str, Any]]:
        return party_records("customers")

    @task
    def load_vendors() -> list[dict[str, Any]]:
        return party_records("vendors")

    customers_in, vendors_in = load_customers(), load_vendors()
    stored >> [customers_in, vendors_in]
    customers = ThredfiSyncCustomersOperator(task_id="sync_customers", records=customers_in)
    vendors = ThredfiSyncVendorsOperator(task_id="sync_vendors", records=vendors_in)

    @task(outlets=[ONBOARDED])
    def store_party_ids(customers: dict[str, Any], vendors: dict[str, Any]) -> int:
        return store_ids("customers", customers) + store_ids("vendors", vendors)

    store_party_ids(customers.output, vendors.output)
    # [END howto_operator_thredfi_sync_parties]


example_thredfi_onboarding()
