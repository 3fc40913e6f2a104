"""Onboard the platform's businesses and their customers into Thredfi, then store the Thredfi ids.

Safe to run any number of times: businesses and customers are keyed by ``external_id``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import Asset, dag, task

from thredfi_provider.operators.businesses import ThredfiOnboardBusinessOperator
from thredfi_provider.operators.parties import ThredfiUpsertCustomersOperator

APP_CONN_ID = "thredfi_example_app"
ONBOARDED = Asset("thredfi://example/onboarded")


def _app_db() -> Any:
    from airflow.providers.sqlite.hooks.sqlite import SqliteHook

    return SqliteHook(sqlite_conn_id=APP_CONN_ID)


@dag(
    schedule="@daily",
    start_date=dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
    catchup=False,
    tags=["thredfi", "example"],
)
def example_thredfi_onboarding() -> None:
    @task
    def load_businesses() -> list[dict[str, Any]]:
        rows = _app_db().get_records("SELECT id, name, email, country, currency FROM businesses ORDER BY id")
        return [
            {"external_id": f"biz-{r[0]}", "legal_name": r[1], "email": r[2], "entity_type": "limited",
             "country": r[3], "base_currency": r[4]}
            for r in rows
        ]  # fmt: skip

    onboard = ThredfiOnboardBusinessOperator(task_id="onboard_businesses", records=load_businesses())

    @task
    def store_business_ids(ids: dict[str, str]) -> list[dict[str, Any]]:
        db = _app_db()
        for external_id, thredfi_id in ids.items():
            db.run(
                "UPDATE businesses SET thredfi_business_id = ? WHERE id = ?",
                parameters=(thredfi_id, int(external_id[4:])),
            )
        rows = db.get_records(
            "SELECT c.id, c.name, c.email, b.thredfi_business_id FROM customers c JOIN businesses b ON b.id = c.business_id"
            " WHERE b.thredfi_business_id IS NOT NULL ORDER BY c.id"
        )
        return [
            {"external_id": f"cust-{r[0]}", "company_name": r[1], "email": r[2], "business_id": r[3]}
            for r in rows
        ]

    customers = ThredfiUpsertCustomersOperator(
        task_id="upsert_customers", records=store_business_ids(onboard.output), outlets=[ONBOARDED]
    )

    @task
    def store_customer_ids(ids: dict[str, str]) -> int:
        db = _app_db()
        for external_id, thredfi_id in ids.items():
            db.run(
                "UPDATE customers SET thredfi_customer_id = ? WHERE id = ?",
                parameters=(thredfi_id, int(external_id[5:])),
            )
        return len(ids)

    store_customer_ids(customers.output)


example_thredfi_onboarding()
