"""The deferrable sensor under a real ``airflow standalone``: scheduler, triggerer, api-server.

``dag.test()`` runs a trigger in-process; only a real triggerer proves the trigger serialises,
is picked up by another process, resolves the connection there (async lookup) and resumes the
task on another worker. Slow (about a minute): ``make test-slow`` or ``pytest -m slow``.
"""

from __future__ import annotations

import time

import pytest

from tests.helpers import make_client, onboard
from tests.helpers.real_airflow import standalone, wait_for

pytestmark = pytest.mark.slow

DAG_ID = "thredfi_standalone_deferral"
DAG_FILE = """
import datetime as dt
import os

from airflow.sdk import dag

from thredfi_provider.sensors.resource import ThredfiResourceSensor


@dag(schedule=None, start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC), catchup=False)
def thredfi_standalone_deferral():
    ThredfiResourceSensor(
        task_id="wait_paid",
        resource="invoice",
        business_id=os.environ["THREDFI_TEST_BUSINESS_ID"],
        external_id="inv-standalone",
        condition={"status": ["paid"]},
        deferrable=True,
        poke_interval=1,
        timeout=240,
    )


thredfi_standalone_deferral()
"""


def test_deferrable_sensor_completes_under_airflow_standalone(thredfi_sandbox, tmp_path):
    client = make_client(thredfi_sandbox)
    business_id = onboard(client, "standalone")
    client.create(business_id, "customers", {"external_id": "cust-1", "company_name": "Customer"})
    customer_id = next(iter(client.list_records(business_id, "customers")))["id"]
    invoice = client.create(
        business_id,
        "invoices",
        {"external_id": "inv-standalone", "customer_id": customer_id, "sent_at": "2024-03-01",
         "line_items": [{"description": "Work", "quantity": 1, "unit_price_cents": 5000, "account_code": "4000"}]},
    ).record  # fmt: skip

    env = {
        "AIRFLOW_CONN_THREDFI_DEFAULT": thredfi_sandbox.connection_uri(),
        "THREDFI_TEST_BUSINESS_ID": business_id,
    }
    deadline = time.monotonic() + 240
    with standalone(tmp_path, {f"{DAG_ID}.py": DAG_FILE}, env, timeout=240) as airflow:
        run_id = "standalone-deferral"
        airflow.trigger(DAG_ID, run_id)
        wait_for("the sensor to defer", lambda: airflow.task_state(DAG_ID, run_id, "wait_paid") == "deferred",
                 deadline - time.monotonic(), interval=2.0)  # fmt: skip
        deferred_with = thredfi_sandbox.counter("requests")

        client.create(
            business_id, "invoices/payments",
            {"external_id": "pay-standalone", "total_amount_cents": 5000, "amount_cents": 5000,
             "payment_date": "2024-03-02", "allocations": [{"invoice_id": invoice["id"], "amount_cents": 5000}]},
            idempotency_key="standalone-payment",
        )  # fmt: skip
        wait_for("the sensor to succeed", lambda: airflow.task_state(DAG_ID, run_id, "wait_paid") == "success",
                 deadline - time.monotonic(), interval=2.0)  # fmt: skip
        # The triggerer, not a worker slot, did the polling in between.
        assert thredfi_sandbox.counter("requests") > deferred_with
