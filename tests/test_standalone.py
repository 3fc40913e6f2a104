"""The deferrable sensor under a real ``airflow standalone``: scheduler, triggerer, api-server.

``dag.test()`` runs a trigger in-process; only a real triggerer proves the trigger serialises,
is picked up by another process, resolves the connection there (async lookup) and resumes the
task on another worker. Slow (about a minute): ``make test-slow`` or ``pytest -m slow``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import make_client, onboard

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _airflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    airflow = Path(sys.executable).with_name("airflow")
    return subprocess.run([str(airflow), *args], env=env, capture_output=True, text=True, timeout=120)


def _wait_for(what: str, probe, deadline: float, interval: float = 2.0):
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def _json_rows(stdout: str) -> list[dict]:
    """The CLI's ``-o json`` table; anything it logs to stdout before it is skipped."""
    for line in stdout.splitlines():
        if line.startswith("["):
            return json.loads(line)
    return []


def _task_state(env: dict[str, str], run_id: str) -> str | None:
    out = _airflow(env, "tasks", "states-for-dag-run", DAG_ID, run_id, "-o", "json")
    if out.returncode != 0:
        return None
    rows = _json_rows(out.stdout)
    return next((row.get("state") for row in rows if row.get("task_id") == "wait_paid"), None)


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

    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / f"{DAG_ID}.py").write_text(DAG_FILE)
    home = tmp_path / "airflow"
    port = _free_port()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW_CONN_THREDFI_DEFAULT": thredfi_sandbox.connection_uri(),
        "THREDFI_TEST_BUSINESS_ID": business_id,
        # standalone starts its components as `airflow ...` from PATH
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log = (tmp_path / "standalone.log").open("w")
    airflow = Path(sys.executable).with_name("airflow")
    proc = subprocess.Popen(
        [str(airflow), "standalone"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 240
        _wait_for(
            "the DAG to be parsed", lambda: _airflow(env, "dags", "details", DAG_ID).returncode == 0, deadline
        )
        run_id = "standalone-deferral"
        triggered = _airflow(env, "dags", "trigger", DAG_ID, "--run-id", run_id)
        assert triggered.returncode == 0, triggered.stderr
        _wait_for("the sensor to defer", lambda: _task_state(env, run_id) == "deferred", deadline)
        deferred_with = thredfi_sandbox.counter("requests")

        client.create(
            business_id, "invoices/payments",
            {"external_id": "pay-standalone", "total_amount_cents": 5000, "amount_cents": 5000,
             "payment_date": "2024-03-02", "allocations": [{"invoice_id": invoice["id"], "amount_cents": 5000}]},
            idempotency_key="standalone-payment",
        )  # fmt: skip
        _wait_for("the sensor to succeed", lambda: _task_state(env, run_id) == "success", deadline)
        # The triggerer, not a worker slot, did the polling in between.
        assert thredfi_sandbox.counter("requests") > deferred_with
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
