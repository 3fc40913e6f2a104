"""Many deferrable sensors handed to a fresh ``airflow triggerer`` at once all resume.

A triggerer runs every trigger on one event loop in its TriggerRunner subprocess. A trigger that
blocks that loop thread (say on a threading lock held by another trigger's coroutine, suspended
mid-``mask_secret`` while it talks to the supervisor) freezes every trigger, and the triggerer
logs "TriggerRunner subprocess event loop appears deadlocked". It only shows when several of
our triggers start together in a process that has no Thredfi client yet, so the test:

1. runs the real scheduler, dag-processor and api-server (``airflow standalone`` minus the
   triggerer) on SQLite with the LocalExecutor (``tests/helpers/real_airflow.py``);
2. triggers a DAG run of ``BURST`` mapped deferrable ThredfiResourceSensors, each waiting for
   its own invoice to be paid, and waits until every one of them is deferred;
3. pays all the invoices on the sandbox, then starts ``airflow triggerer``: its first load
   picks up all ``BURST`` triggers in one batch, and each is met at its first poll;
4. asserts every sensor succeeds (its trigger fired a success event) within a bound and the
   triggerer never logged that its event loop was deadlocked.

Slow (a minute or two): ``make test-slow`` or ``pytest -m slow``.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
import requests

from tests.helpers import make_client, onboard
from tests.helpers.real_airflow import Airflow, components

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

DAG_ID = "thredfi_triggerer_burst"
RUN_ID = "burst"
BURST = 24
DEADLOCKED = "appears deadlocked"
FAILED = {"failed", "upstream_failed", "up_for_retry"}

DAG_FILE = """
import datetime as dt

from airflow.sdk import dag

from thredfi_provider.sensors.resource import ThredfiResourceSensor


@dag(schedule=None, start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC), catchup=False)
def {dag_id}():
    ThredfiResourceSensor.partial(
        task_id="wait_paid",
        resource="invoice",
        business_id={business_id!r},
        condition={{"status": ["paid"]}},
        deferrable=True,
        poke_interval=2,
        timeout=900,
    ).expand(external_id={external_ids!r})


{dag_id}()
"""

# Every wait is bounded; their sum, with the helper's 30 s to stop, stays under the pytest timeout above.
START_TIMEOUT = 100  # each of: migrate the database; start the components and parse the DAG
DEFER_TIMEOUT = 180  # run the DAG and see all BURST sensors deferred
RESUME_TIMEOUT = 150  # from `airflow triggerer` starting to all BURST sensors succeeded


def _states(airflow: Airflow) -> Counter[str]:
    """State counts of the run's mapped sensors (an unexpanded placeholder counts as not yet)."""
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{RUN_ID}/taskInstances?limit=200"
    try:
        response = requests.get(airflow.api + path, timeout=10)
    except requests.RequestException:
        return Counter()
    if response.status_code != 200:
        return Counter()
    rows = response.json()["task_instances"]
    return Counter(str(row["state"]) for row in rows if row["map_index"] >= 0)


def _all_deferred(airflow: Airflow) -> bool:
    states = _states(airflow)
    assert not states.keys() & FAILED, f"sensors failed: {dict(states)}"
    return states["deferred"] == BURST


def test_a_burst_of_triggers_on_a_fresh_triggerer_all_fire(thredfi_sandbox, tmp_path):
    client = make_client(thredfi_sandbox)
    business_id = onboard(client, "burst")
    customer_id = client.create(
        business_id, "customers", {"external_id": "cust-1", "company_name": "Customer"}
    ).record["id"]
    external_ids = [f"inv-burst-{n}" for n in range(BURST)]
    invoice_ids = [
        client.create(
            business_id,
            "invoices",
            {"external_id": external_id, "customer_id": customer_id, "sent_at": "2024-03-01",
             "line_items": [{"description": "Work", "quantity": 1, "unit_price_cents": 5000, "account_code": "4000"}]},
        ).record["id"]
        for external_id in external_ids
    ]  # fmt: skip

    dags = {
        f"{DAG_ID}.py": DAG_FILE.format(dag_id=DAG_ID, business_id=business_id, external_ids=external_ids)
    }
    env = {
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(4 * BURST),
        # Report a frozen trigger loop after 15s of silence instead of 30s (the fixed loop
        # talks to its supervisor about every second).
        "AIRFLOW__TRIGGERER__RUNNER_HEALTH_CHECK_THRESHOLD": "15",
        "AIRFLOW_CONN_THREDFI_DEFAULT": thredfi_sandbox.connection_uri(),
    }
    with components(
        tmp_path, dags, env, ("api-server", "scheduler", "dag-processor"), START_TIMEOUT
    ) as airflow:
        airflow.trigger(DAG_ID, RUN_ID)
        airflow.wait(f"all {BURST} sensors to defer", lambda: _all_deferred(airflow), DEFER_TIMEOUT)
        states = _states(airflow)
        assert states == Counter(deferred=BURST), states

        # Met at every trigger's first poll, so the triggerer only has to start them all at once.
        for n, invoice_id in enumerate(invoice_ids):
            client.create(
                business_id,
                "invoices/payments",
                {"external_id": f"pay-burst-{n}", "total_amount_cents": 5000, "amount_cents": 5000,
                 "payment_date": "2024-03-02", "allocations": [{"invoice_id": invoice_id, "amount_cents": 5000}]},
                idempotency_key=f"burst-payment-{n}",
            )  # fmt: skip

        polled_before = thredfi_sandbox.counter("requests")
        triggerer_log = airflow.start("triggerer")
        started = time.monotonic()
        deadline = started + RESUME_TIMEOUT
        states = Counter()
        while time.monotonic() < deadline:
            airflow.check_alive()
            log_text = triggerer_log.read_text(errors="replace")
            assert DEADLOCKED not in log_text, (
                f"the triggerer froze (seen {time.monotonic() - started:.0f}s after starting it) with {BURST} "
                f"triggers (sensor states: {dict(states)}):\n{airflow.tail('triggerer')}"
            )
            states = _states(airflow)
            if states["success"] == BURST:
                break
            assert not states.keys() & FAILED, f"sensors failed: {dict(states)}\n{airflow.tail('triggerer')}"
            time.sleep(1.0)
        else:
            raise AssertionError(
                f"only {states['success']} of {BURST} sensors succeeded within {RESUME_TIMEOUT}s of the "
                f"triggerer starting (states: {dict(states)}):\n{airflow.tail('triggerer')}"
            )
        assert DEADLOCKED not in triggerer_log.read_text(errors="replace"), airflow.tail("triggerer")
    # The triggerer, not a worker, did the polling that found the invoices paid.
    assert thredfi_sandbox.counter("requests") >= polled_before + BURST
