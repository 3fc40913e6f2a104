"""A real Airflow for the runs that only a real one can measure: ``airflow standalone`` in a temporary home.

``dag.test()`` runs a task in the test's own process, with no supervisor, so it cannot show what a
task costs its supervisor, what a real task log holds, or what the metadata database keeps.
:func:`standalone` starts the scheduler (LocalExecutor), the dag processor, the triggerer and the
api-server on SQLite, waits until the DAGs are parsed, and stops every process on exit. Used by the
deferral test (``tests/test_standalone.py``), the secrets search at 1,000 businesses
(``tests/reliability/test_secrets_at_scale.py``) and ``benchmarks/bench_breadth.py``.
:func:`components` starts chosen components one by one instead, so a test can start another
later (``tests/triggers/test_triggerer_many.py`` starts its triggerer once the sensors deferred).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from thredfi_provider.sandbox.process import free_port

FINISHED = {"success", "failed"}
STOP_TIMEOUT = 30  # seconds from SIGTERM to SIGKILL for what is left of a component's process tree
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
    logs: Path  # each started process's own stdout and stderr, as ``<component>.log``
    started: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def api(self) -> str:
        """The api-server's base URL."""
        return f"http://127.0.0.1:{self.env['AIRFLOW__API__PORT']}"

    def start(self, component: str) -> Path:
        """``airflow <component>`` (``standalone``, ``scheduler``, ``triggerer``, ...) in its own
        session; returns the path of its log."""
        log = self.logs / f"{component}.log"
        with log.open("wb") as sink:
            self.started[component] = subprocess.Popen(
                [str(Path(sys.executable).with_name("airflow")), component],
                env=self.env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        return log

    def tail(self, component: str, lines: int = 60) -> str:
        text = (self.logs / f"{component}.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        """Fail at once, with its log's tail, when a started component has exited."""
        for name, process in self.started.items():
            if process.poll() is not None:
                raise AssertionError(f"`airflow {name}` exited with {process.returncode}:\n{self.tail(name)}")

    def wait(self, what: str, probe: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
        """:func:`wait_for`, checking every component is still alive before each probe."""
        return wait_for(what, lambda: self.check_alive() or probe(), timeout, interval)

    def stop(self) -> None:
        """SIGTERM each component's process group, then SIGKILL whatever of its process tree
        outlives ``STOP_TIMEOUT`` (a frozen TriggerRunner ignores SIGTERM). The tree is taken
        before signalling, so a child in another session, or orphaned by its parent, is reaped too."""
        tree = _tree(self.started.values())
        for process in self.started.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        tree |= _tree(tree)  # anything forked meanwhile
        _, alive = psutil.wait_procs(tree, timeout=STOP_TIMEOUT)
        for leftover in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                leftover.kill()
        psutil.wait_procs(alive, timeout=10)
        for process in self.started.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

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

    def wait_parsed(self, dags: dict[str, str], timeout: float) -> None:
        for dag_file in dags:
            dag_id = dag_file.removesuffix(".py")
            self.wait(f"{dag_id} to be parsed", lambda d=dag_id: self.parsed(d), timeout, interval=2.0)

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
        """Every text file under the home (task logs, component logs, config) and each process's output."""
        for path in [*sorted(self.home.rglob("*")), *(self.logs / f"{name}.log" for name in self.started)]:
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
    with _airflow(tmp, dags, env) as airflow:
        airflow.start("standalone")
        airflow.wait_parsed(dags, timeout)
        yield airflow


@contextmanager
def components(
    tmp: Path, dags: dict[str, str], env: dict[str, str], names: tuple[str, ...], timeout: float = 300
) -> Generator[Airflow]:
    """The components ``names`` (``api-server``, ``scheduler``, ...) started one by one on a freshly
    migrated database, ``dags`` parsed and unpaused; :meth:`Airflow.start` adds another later.

    What ``airflow standalone`` would set up for them is set here: the LocalExecutor, one JWT
    secret for every component, an api-server that takes every caller for an admin (the test's
    REST calls need no login), and free ports for the log servers.
    """
    separate = {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(24),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",  # a component's log is read while it runs
    }
    with _airflow(tmp, dags, {**separate, **env}) as airflow:
        airflow.env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"{airflow.api}/execution/"
        migrated = airflow.cli("db", "migrate", timeout=timeout)
        if migrated.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed: {migrated.stderr[-3000:]}")
        for name in names:
            airflow.start(name)
        airflow.wait_parsed(dags, timeout)
        yield airflow


@contextmanager
def _airflow(tmp: Path, dags: dict[str, str], env: dict[str, str]) -> Generator[Airflow]:
    """An Airflow home in ``tmp`` with ``dags`` in its DAG folder; every component started in it
    is stopped on exit."""
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
    airflow = Airflow(home, full_env, tmp)
    try:
        yield airflow
    finally:
        airflow.stop()


def _tree(roots: Any) -> set[psutil.Process]:
    """``roots`` (processes or ``Popen`` objects) and all their descendants still running."""
    tree: set[psutil.Process] = set()
    for root in roots:
        with contextlib.suppress(psutil.NoSuchProcess):
            process = root if isinstance(root, psutil.Process) else psutil.Process(root.pid)
            tree |= {process, *process.children(recursive=True)}
    return tree


def _json_rows(stdout: str) -> list[dict[str, Any]]:
    """The CLI's ``-o json`` table; anything it logs to stdout before it is skipped."""
    for line in stdout.splitlines():
        if line.startswith("["):
            rows: list[dict[str, Any]] = json.loads(line)
            return rows
    return []
