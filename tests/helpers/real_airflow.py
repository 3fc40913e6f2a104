"""A real Airflow for the runs that only a real one can measure: ``airflow standalone`` in a temporary home.

``dag.test()`` runs a task in the test's own process, with no supervisor, so it cannot show what a
task costs its supervisor, what a real task log holds, or what the metadata database keeps.
:func:`standalone` starts the scheduler (LocalExecutor), the dag processor, the triggerer and the
api-server on SQLite, waits until the DAGs are parsed, and stops every process on exit. Used by the
secrets search at 1,000 businesses (``tests/reliability/test_secrets_at_scale.py``) and by
``benchmarks/bench_breadth.py``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thredfi_provider.sandbox.process import free_port

FINISHED = {"success", "failed"}
# Runs of the characters a token, a key or its Basic form is made of, and their dot-separated parts.
_WORDS = re.compile(r"[A-Za-z0-9_~+/=-]+(?:\.[A-Za-z0-9_~+/=-]+)*")


def secrets_in(text: str, wanted: set[str]) -> set[str]:
    """Which of ``wanted`` occur in ``text``, in time linear in the text, not in the secrets.

    A secret is found when it is a whole word of the text, or a dot-separated part of one (a JWT's
    signature), or the end of a word (``Bearer`` and ``Basic`` sit before theirs with a space, but
    a leak may glue a prefix on, like ``token=``). Searching each of 20,000 secrets through
    megabytes of logs one by one would take minutes.
    """
    found: set[str] = set()
    for match in _WORDS.finditer(text):
        word = match.group()
        parts = {word, *word.split(".")}
        for cut in ("=", ":", "/"):
            if cut in word:
                parts.add(word.rsplit(cut, 1)[-1])
                parts.add(word.split(cut, 1)[-1])
        found |= parts & wanted
    return found


def wait_for(what: str, probe: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


@dataclass
class Airflow:
    home: Path
    env: dict[str, str]
    output: Path  # the standalone process's own stdout and stderr

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        airflow = Path(sys.executable).with_name("airflow")
        return subprocess.run(
            [str(airflow), *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def parsed(self, dag_id: str) -> bool:
        """Whether the DAG is ready; a DAG file that failed to import fails at once, with its error."""
        if self.cli("dags", "details", dag_id).returncode == 0:
            return True
        errors = self.cli("dags", "list-import-errors", "-o", "json")
        if _json_rows(errors.stdout):
            raise RuntimeError(f"the DAG files did not import: {errors.stdout[-3000:]}")
        return False

    def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any] | None = None) -> None:
        done = self.cli("dags", "trigger", dag_id, "--run-id", run_id, "--conf", json.dumps(conf or {}))
        if done.returncode != 0:
            raise RuntimeError(f"could not trigger {dag_id}: {done.stderr[-2000:]}")

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        done = self.cli("dags", "list-runs", dag_id, "-o", "json")
        for row in _json_rows(done.stdout):
            if row.get("run_id") == run_id:
                return str(row.get("state"))
        return None

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        done = self.cli("tasks", "states-for-dag-run", dag_id, run_id, "-o", "json")
        rows = _json_rows(done.stdout) if done.returncode == 0 else []
        return next((str(row.get("state")) for row in rows if row.get("task_id") == task_id), None)

    def wait_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        state: str = wait_for(
            f"{dag_id} {run_id} to finish",
            lambda: (s := self.run_state(dag_id, run_id)) in FINISHED and s,
            timeout,
            interval=2.0,
        )
        return state

    def files_text(self) -> Iterator[tuple[str, str]]:
        """Every text file under the home (task logs, component logs, config) and the output."""
        for path in [*sorted(self.home.rglob("*")), self.output]:
            if path.is_file() and path.suffix not in {".db", ".db-wal", ".db-shm", ".pyc"}:
                yield str(path), path.read_text(errors="replace")

    def tables_text(self) -> Iterator[tuple[str, str]]:
        """Every row of every table of the metadata database, as SQL text."""
        with sqlite3.connect(self.home / "airflow.db") as db:
            tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                rows = db.execute(f'SELECT * FROM "{table}"').fetchall()
                yield f"table {table}", "\n".join(repr(row) for row in rows)


@contextmanager
def standalone(
    tmp: Path, dags: dict[str, str], env: dict[str, str], timeout: float = 300
) -> Generator[Airflow]:
    """``airflow standalone`` with ``dags`` (file name: source) parsed and unpaused, stopped on exit."""
    folder = tmp / "dags"
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in dags.items():
        (folder / name).write_text(source)
    home = tmp / "airflow"
    port = free_port()
    full_env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        # standalone starts its components as `airflow ...` from PATH
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **env,
    }
    output = tmp / "standalone.log"
    airflow = Path(sys.executable).with_name("airflow")
    with output.open("w") as sink:
        process = subprocess.Popen(
            [str(airflow), "standalone"],
            env=full_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Airflow(home, full_env, output)
    try:
        for dag_file in dags:
            dag_id = dag_file.removesuffix(".py")
            wait_for(f"{dag_id} to be parsed", lambda d=dag_id: running.parsed(d), timeout, interval=2.0)
        yield running
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _json_rows(stdout: str) -> list[dict[str, Any]]:
    """The CLI's ``-o json`` table; anything it logs to stdout before it is skipped."""
    for line in stdout.splitlines():
        if line.startswith("["):
            rows: list[dict[str, Any]] = json.loads(line)
            return rows
    return []
