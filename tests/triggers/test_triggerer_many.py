"""Many deferrable sensors handed to a fresh ``airflow triggerer`` at once all resume.

A triggerer runs every trigger on one event loop in its TriggerRunner subprocess. A trigger that
blocks that loop thread (say on a threading lock held by another trigger's coroutine, suspended
mid-``mask_secret`` while it talks to the supervisor) freezes every trigger, and the triggerer
logs "TriggerRunner subprocess event loop appears deadlocked". It only shows when several of
our triggers start together in a process that has no Thredfi client yet, so the test:

1. runs the real scheduler, dag-processor and api-server (``airflow standalone`` minus the
   triggerer) on SQLite with the LocalExecutor;
2. triggers a DAG run of ``BURST`` mapped deferrable ThredfiResourceSensors, each waiting for
   its own invoice to be paid, and waits until every one of them is deferred;
3. pays all the invoices on the sandbox, then starts ``airflow triggerer``: its first load
   picks up all ``BURST`` triggers in one batch, and each is met at its first poll;
4. asserts every sensor succeeds (its trigger fired a success event) within a bound and the
   triggerer never logged that its event loop was deadlocked.

Slow (a minute or two): ``make test-slow`` or ``pytest -m slow``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

import psutil
import pytest
import requests

from tests.helpers import make_client, onboard

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

# Every wait is bounded; the sum stays under the pytest timeout above.
MIGRATE_TIMEOUT = 150
DEFER_TIMEOUT = 240  # parse the DAG, run it and see all BURST sensors deferred
RESUME_TIMEOUT = 150  # from `airflow triggerer` starting to all BURST sensors succeeded
STOP_TIMEOUT = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Processes:
    """Airflow components started by the test; ``stop()`` ends each with all its descendants."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: dict[str, tuple[subprocess.Popen[bytes], IO[bytes]]] = {}

    def start(self, *command: str) -> Path:
        airflow = str(Path(sys.executable).with_name("airflow"))
        log_path = self.logs / f"{command[0]}.log"
        log = log_path.open("wb")
        proc = subprocess.Popen(
            [airflow, *command], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started[command[0]] = (proc, log)
        return log_path

    def check_alive(self) -> None:
        for name, (proc, _) in self.started.items():
            if proc.poll() is not None:
                raise AssertionError(f"`airflow {name}` exited with {proc.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 60) -> str:
        text = (self.logs / f"{name}.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def _tree(self, extra: Iterable[psutil.Process] = ()) -> set[psutil.Process]:
        roots: list[psutil.Process] = list(extra)
        for proc, _ in self.started.values():
            with contextlib.suppress(psutil.NoSuchProcess):
                roots.append(psutil.Process(proc.pid))
        tree: set[psutil.Process] = set()
        for root in roots:
            with contextlib.suppress(psutil.NoSuchProcess):
                tree |= {root, *root.children(recursive=True)}
        return tree

    def stop(self) -> None:
        """SIGTERM each component's process group, then SIGKILL whatever of its process tree
        outlives STOP_TIMEOUT (a frozen TriggerRunner ignores SIGTERM).

        The tree is snapshotted before signalling, so a child in another session or one
        orphaned by its parent dying is still reaped.
        """
        tree = self._tree()
        for proc, _ in self.started.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        tree |= self._tree(tree)  # anything forked meanwhile
        _, alive = psutil.wait_procs(tree, timeout=STOP_TIMEOUT)
        for leftover in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                leftover.kill()
        psutil.wait_procs(alive, timeout=10)
        for proc, log in self.started.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            log.close()


@pytest.fixture
def processes(tmp_path) -> Iterator[Callable[[dict[str, str]], _Processes]]:
    made: list[_Processes] = []

    def make(env: dict[str, str]) -> _Processes:
        made.append(_Processes(env, tmp_path))
        return made[-1]

    yield make
    for group in made:
        group.stop()


def _wait_for(
    what: str, probe: Callable[[], tuple[bool, object]], deadline: float, procs: _Processes
) -> object:
    """Poll ``probe`` (returning ``(done, detail)``) each second until done or ``deadline``."""
    detail: object = None
    while time.monotonic() < deadline:
        procs.check_alive()
        done, detail = probe()
        if done:
            return detail
        time.sleep(1.0)
    raise AssertionError(f"timed out waiting for {what} (last: {detail!r})")


def _get(api: str, path: str) -> requests.Response | None:
    try:
        return requests.get(f"{api}{path}", timeout=10)
    except requests.RequestException:
        return None


def _states(api: str) -> Counter[str]:
    """State counts of the run's mapped sensors (an unexpanded placeholder counts as not yet)."""
    response = _get(api, f"/api/v2/dags/{DAG_ID}/dagRuns/{RUN_ID}/taskInstances?limit=200")
    if response is None or response.status_code != 200:
        return Counter()
    rows = response.json()["task_instances"]
    return Counter(str(row["state"]) for row in rows if row["map_index"] >= 0)


def _dag_parsed(api: str) -> tuple[bool, object]:
    response = _get(api, f"/api/v2/dags/{DAG_ID}")
    return response is not None and response.status_code == 200, response


def _all_in(api: str, state: str) -> tuple[bool, object]:
    states = _states(api)
    assert not states.keys() & FAILED, f"sensors failed: {dict(states)}"
    return states[state] == BURST, dict(states)


def test_a_burst_of_triggers_on_a_fresh_triggerer_all_fire(thredfi_sandbox, tmp_path, processes):
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

    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / f"{DAG_ID}.py").write_text(
        DAG_FILE.format(dag_id=DAG_ID, business_id=business_id, external_ids=external_ids)
    )
    port = _free_port()
    api = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(4 * BURST),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(24),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        # Report a frozen trigger loop after 15s of silence instead of 30s (the fixed loop
        # talks to its supervisor about every second).
        "AIRFLOW__TRIGGERER__RUNNER_HEALTH_CHECK_THRESHOLD": "15",
        "AIRFLOW_CONN_THREDFI_DEFAULT": thredfi_sandbox.connection_uri(),
        "PYTHONUNBUFFERED": "1",  # the triggerer's log is read while it runs
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    airflow = str(Path(sys.executable).with_name("airflow"))
    migrated = subprocess.run(
        [airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=MIGRATE_TIMEOUT
    )
    assert migrated.returncode == 0, migrated.stderr[-3000:]

    procs = processes(env)
    for component in ("api-server", "scheduler", "dag-processor"):
        procs.start(component)

    deadline = time.monotonic() + DEFER_TIMEOUT
    _wait_for("the DAG to be parsed", lambda: _dag_parsed(api), deadline, procs)
    triggered = requests.post(
        f"{api}/api/v2/dags/{DAG_ID}/dagRuns", json={"dag_run_id": RUN_ID, "logical_date": None}, timeout=30
    )
    assert triggered.status_code in (200, 201), triggered.text
    _wait_for(f"all {BURST} sensors to defer", lambda: _all_in(api, "deferred"), deadline, procs)
    states = _states(api)
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
    triggerer_log = procs.start("triggerer")
    started = time.monotonic()
    deadline = started + RESUME_TIMEOUT
    states = Counter()
    while time.monotonic() < deadline:
        procs.check_alive()
        log_text = triggerer_log.read_text(errors="replace")
        assert DEADLOCKED not in log_text, (
            f"the triggerer froze (seen {time.monotonic() - started:.0f}s after starting it) with {BURST} "
            f"triggers (sensor states: {dict(states)}):\n{procs.tail('triggerer')}"
        )
        states = _states(api)
        if states["success"] == BURST:
            break
        assert not states.keys() & FAILED, f"sensors failed: {dict(states)}\n{procs.tail('triggerer')}"
        time.sleep(1.0)
    else:
        raise AssertionError(
            f"only {states['success']} of {BURST} sensors succeeded within {RESUME_TIMEOUT}s of the "
            f"triggerer starting (states: {dict(states)}):\n{procs.tail('triggerer')}"
        )
    assert DEADLOCKED not in triggerer_log.read_text(errors="replace"), procs.tail("triggerer")
    # The triggerer, not a worker, did the polling that found the invoices paid.
    assert thredfi_sandbox.counter("requests") >= polled_before + BURST
