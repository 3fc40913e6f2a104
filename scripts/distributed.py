"""A real distributed Airflow deployment (CeleryExecutor, PostgreSQL, Redis, two workers) syncing
many businesses into the Thredfi sandbox through faults, then an exact check.

Run by ``make demo-distributed``; ``--small`` is the preset ``make test-distributed`` uses.

What it does, each step bounded in time:

1. installs what is missing: ``redis-server``/``postgresql`` (apt, only when absent) and the
   ``distributed`` extra (Celery provider, psycopg2, asyncpg) into the venv;
2. starts its own PostgreSQL cluster (``initdb``/``pg_ctl`` as the ``postgres`` user when run as
   root), its own ``redis-server`` (no persistence) and the Thredfi sandbox (``--db``, so it can
   be stopped and started again), each on a free loopback port, all under one state directory;
3. seeds the source database (PostgreSQL) and migrates Airflow's metadata database, then starts
   scheduler, dag-processor, triggerer, api-server and two ``airflow celery worker`` processes
   (``--concurrency 2`` each, distinct ``-H`` names);
4. bulk phase: triggers ``thredfi_scale_bulk`` (``scripts/distributed/thredfi_scale_dags.py``, a
   task group mapped over chunks of businesses), SIGKILLs one worker's whole process tree mid-run
   and restarts it, stops the sandbox for 10 seconds and starts it again; Airflow's task retries
   must finish the run;
5. daily phase: unpauses ``thredfi_scale_daily`` (its scheduler runs start a few days back and
   keep coming) and backfills the whole window with ``airflow backfill create`` at the same time,
   so runs whose data overlap run at once on both workers;
6. checks that every source invoice and payment is in Thredfi exactly once, with its amount
   (:func:`check_exactly_once`), writes a JSON summary, prints it, and stops everything (also on
   failure or Ctrl-C). ``--keep`` leaves the deployment running and prints the UI's URL;
   ``--stop STATE_DIR`` stops a kept one.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "scripts" / "distributed"
BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")
BULK_DAG = "thredfi_scale_bulk"
DAILY_DAG = "thredfi_scale_daily"
WORKERS = ("worker-1", "worker-2")
VICTIM = WORKERS[0]
PARTNER_ID = "7d0c3a51-scale-4e2b-9f1a-000000000001"
OUTAGE_SECONDS = 10.0
SHM = Path("/dev/shm")  # noqa: S108 - a folder of our own in it, named after the state directory
THREDFI_TASKS = ("onboard", "upsert_customers", "sync_invoices", "record_payments")
# The test preset: every phase and fault of the full run, on 8 businesses over 4 days.
SMALL = {"businesses": 8, "invoices_per_business": 20, "days": 4, "businesses_per_task": 1, "daily_chunks": 2,
         "daily_businesses": 4, "scheduled_days": 2, "heartbeat_timeout": 45}  # fmt: skip
T0 = time.monotonic()


# ------------------------------------------------------------------------------------ helpers


def say(message: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f}s] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, probe: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    """Poll ``probe`` until it returns something truthy; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except Exception as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def run(cmd: list[str], *, timeout: float, env: dict[str, str] | None = None, check: bool = True,
        user: str | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run a command to completion (bounded); its output is kept for the error message."""
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd[:6])} ... exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def http_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback URLs we built
        return json.loads(response.read())


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (read from /proc), children first."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children[ppid].append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# ------------------------------------------------------------------------------------ installing


def ensure_installed() -> dict[str, Any]:
    """apt packages only when absent (never reinstalled); the venv's ``distributed`` extra."""
    done: dict[str, Any] = {"apt": [], "pip": False}
    missing = []
    if not shutil.which("redis-server"):
        missing.append("redis-server")
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        missing.append("postgresql")
    if missing:
        if os.geteuid() != 0:
            raise SystemExit(f"missing {missing}: run `sudo apt-get install -y {' '.join(missing)}` first")
        say(f"installing {', '.join(missing)} with apt-get ...")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        first = run(["apt-get", "install", "-y", "--no-install-recommends", *missing], timeout=900, env=env,
                    check=False)  # fmt: skip
        if first.returncode != 0:  # a fresh machine may not have package lists yet
            run(["apt-get", "update"], timeout=600, env=env)
            run(["apt-get", "install", "-y", "--no-install-recommends", *missing], timeout=900, env=env)
        done["apt"] = missing
        # Debian starts the packaged services; this run uses its own instances on free ports.
    if not all(_installed(*names) for names in (("apache-airflow-providers-celery",),
                                                 ("psycopg2-binary", "psycopg2"), ("asyncpg",))):  # fmt: skip
        say("installing the `distributed` extra (Celery provider, psycopg2, asyncpg) into the venv ...")
        run([str(BIN / "uv"), "pip", "install", "--quiet", "--python", sys.executable, "-e", f"{ROOT}[distributed]"],
            timeout=900)  # fmt: skip
        done["pip"] = True
    return done


def _installed(*distributions: str) -> bool:
    for name in distributions:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            importlib.metadata.version(name)
            return True
    return False


def drop_shm(sandbox_db: Path) -> None:
    """Free the memory of a sandbox database kept on /dev/shm (one on disk stays, like the logs)."""
    if sandbox_db.parent.parent == SHM and sandbox_db.parent.name.startswith("thredfi-distributed-"):
        shutil.rmtree(sandbox_db.parent, ignore_errors=True)


def pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise SystemExit("PostgreSQL binaries not found under /usr/lib/postgresql")
    return found[-1].parent


# ------------------------------------------------------------------------------------ the deployment


class Deployment:
    """Every process this run started, and how to stop each one; also saved to ``state.json``."""

    def __init__(self, state: Path, args: argparse.Namespace) -> None:
        self.state = state
        self.args = args
        self.logs = state / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.pg_user = "postgres" if os.geteuid() == 0 else None
        self.pg_bin = pg_bin()
        self.pg_data = state / "pg" / "data"
        self.pg_running = False
        self.ports = {name: free_port() for name in ("postgres", "redis", "sandbox", "api")}
        self.passwords = {"airflow": secrets.token_hex(12), "source": secrets.token_hex(12)}
        self.sandbox_key = secrets.token_hex(16)
        self.sandbox_db = args.sandbox_db or self._default_sandbox_db(state)
        self.sandbox_requests = 0  # summed over sandbox restarts (its counters restart at zero)
        self.events: list[dict[str, Any]] = []

    @staticmethod
    def _default_sandbox_db(state: Path) -> Path:
        """The sandbox commits each write to SQLite, in its one event loop: on a disk whose commit
        costs ~20 ms (this VM's) that alone caps it near 50 writes/s. On tmpfs the file still
        survives the sandbox's restart, which is all the outage needs."""
        if SHM.is_dir() and os.access(SHM, os.W_OK):
            folder = SHM / f"thredfi-distributed-{state.name}"
            folder.mkdir(exist_ok=True)
            return folder / "thredfi-sandbox.db"
        return state / "thredfi-sandbox.db"

    # ---------------------------------------------------------------- bookkeeping

    def event(self, kind: str, **details: Any) -> dict[str, Any]:
        entry = {"t": round(time.monotonic() - T0, 1), "event": kind, **details}
        self.events.append(entry)
        return entry

    def save(self) -> None:
        (self.state / "state.json").write_text(json.dumps({
            "pgids": {name: proc.pid for name, proc in self.procs.items() if proc.poll() is None},
            "pg_bin": str(self.pg_bin), "pg_data": str(self.pg_data), "pg_user": self.pg_user,
            "ports": self.ports, "sandbox_db": str(self.sandbox_db),
        }, indent=2))  # fmt: skip

    def spawn(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a process in its own session (so its whole group can be signalled), logging to a file."""
        env = env or dict(os.environ)
        log = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=self.state)  # fmt: skip
        log.close()
        self.procs[name] = proc
        self.save()
        return proc

    def stop(self, name: str, timeout: float = 30.0) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left of it (and of its tree)."""
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return
        tree = descendants(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        for pid in tree:  # children that moved to their own process group (Airflow task processes)
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def stop_all(self) -> None:
        """SIGTERM every process group at once (Airflow first, the services it uses last), give them
        a shared grace period, SIGKILL what is left, then stop PostgreSQL."""
        airflow = [n for n in self.procs if n not in ("sandbox", "redis")]
        for names, grace in ((airflow, 45.0), (["sandbox", "redis"], 15.0)):
            live = {n: self.procs[n] for n in names if n in self.procs and self.procs[n].poll() is None}
            trees = {n: descendants(p.pid) for n, p in live.items()}
            for proc in live.values():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            for name, proc in live.items():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    say(f"{name} ignored SIGTERM for {grace:.0f}s: SIGKILL")
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=10)
                for pid in trees[name]:  # task processes live in process groups of their own
                    if alive(pid):
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
        if self.pg_running:
            run([str(self.pg_bin / "pg_ctl"), "-D", str(self.pg_data), "-m", "fast", "-t", "60", "stop"],
                timeout=90, user=self.pg_user, check=False)  # fmt: skip
            self.pg_running = False
        self.save()
        drop_shm(self.sandbox_db)

    # ---------------------------------------------------------------- services

    def start_postgres(self) -> None:
        pg = self.state / "pg"
        pg.mkdir(exist_ok=True)
        if self.pg_user:
            shutil.chown(pg, self.pg_user)
        run([str(self.pg_bin / "initdb"), "-D", str(self.pg_data), "-U", "postgres", "-E", "UTF8", "--no-sync",
             "--auth-local=trust", "--auth-host=scram-sha-256"], timeout=120, user=self.pg_user)  # fmt: skip
        options = (f"-p {self.ports['postgres']} -c listen_addresses=127.0.0.1 -k {pg} -c max_connections=300"
                   " -c shared_buffers=256MB -c synchronous_commit=off")  # fmt: skip
        run([str(self.pg_bin / "pg_ctl"), "-D", str(self.pg_data), "-l", str(pg / "postgres.log"), "-w", "-t", "60",
             "-o", options, "start"], timeout=90, user=self.pg_user)  # fmt: skip
        self.pg_running = True
        self.save()
        sql = (
            f"CREATE ROLE airflow LOGIN PASSWORD '{self.passwords['airflow']}';"
            " CREATE DATABASE airflow OWNER airflow;"
            f" CREATE ROLE thredfi_source LOGIN PASSWORD '{self.passwords['source']}';"
            " CREATE DATABASE thredfi_source OWNER thredfi_source;"
        )
        for statement in sql.split(";"):
            if statement.strip():
                run([str(self.pg_bin / "psql"), "-h", str(pg), "-p", str(self.ports["postgres"]), "-U", "postgres",
                     "-v", "ON_ERROR_STOP=1", "-qc", statement], timeout=30, user=self.pg_user)  # fmt: skip

    def dsn(self, who: str) -> str:
        user, db = ("airflow", "airflow") if who == "airflow" else ("thredfi_source", "thredfi_source")
        return f"host=127.0.0.1 port={self.ports['postgres']} user={user} password={self.passwords[who]} dbname={db}"

    def sql_url(self) -> str:
        return f"postgresql+psycopg2://airflow:{self.passwords['airflow']}@127.0.0.1:{self.ports['postgres']}/airflow"

    def start_redis(self) -> None:
        (self.state / "redis").mkdir(exist_ok=True)
        self.spawn("redis", [shutil.which("redis-server") or "redis-server", "--port", str(self.ports["redis"]),
                             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
                             "--dir", str(self.state / "redis")])  # fmt: skip

        def pong() -> bool:
            with socket.create_connection(("127.0.0.1", self.ports["redis"]), timeout=2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")

        wait_for("redis", pong, timeout=30, interval=0.3)

    def start_sandbox(self) -> None:
        self.spawn("sandbox", [str(BIN / "thredfi-sandbox"), "--port", str(self.ports["sandbox"]),
                               "--db", str(self.sandbox_db), "--partner-id", PARTNER_ID,
                               "--api-key", self.sandbox_key])  # fmt: skip
        wait_for("the Thredfi sandbox", lambda: http_json(f"{self.sandbox_url}/_sandbox/stats"), timeout=60,
                 interval=0.3)  # fmt: skip

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['sandbox']}"

    def sandbox_stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = http_json(f"{self.sandbox_url}/_sandbox/stats", timeout=30)
        return stats

    def client(self) -> Any:
        from thredfi_provider.client.client import ThredfiClient
        from thredfi_provider.client.settings import ClientSettings

        return ThredfiClient(
            ClientSettings(self.sandbox_url, PARTNER_ID, self.sandbox_key, max_retry_seconds=60)
        )

    # ---------------------------------------------------------------- Airflow

    def airflow_env(self) -> dict[str, str]:
        from cryptography.fernet import Fernet

        args = self.args
        api = self.ports["api"]
        conn_source = {
            "conn_type": "postgres",
            "host": "127.0.0.1",
            "port": self.ports["postgres"],
            "login": "thredfi_source",
            "password": self.passwords["source"],
            "schema": "thredfi_source",
        }
        conn_thredfi = {"conn_type": "thredfi", "login": PARTNER_ID, "password": self.sandbox_key,
                        "host": self.sandbox_url}  # fmt: skip
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(self.state / "airflow"),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.sql_url(),
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.sql_url(),
            # Sending a task to Redis on a busy 2-core machine can take more than the default 1 s.
            "AIRFLOW__CELERY__OPERATION_TIMEOUT": "10",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.state / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            # Every component must share these, or workers' tokens and served logs are refused.
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api}/execution/",
            # Well above the 4 worker slots: the executor frees a slot only when it has read the
            # task's end back from the result backend, so at 2x the slots the workers sat idle.
            # Waiting tasks stay in Redis; a worker prefetches one per slot, so a kill strands few.
            "AIRFLOW__CORE__PARALLELISM": str(args.parallelism),
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "300",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(args.heartbeat_timeout),
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": str(args.queued_timeout),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "thredfi_scale_hostname.hostname",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW_CONN_THREDFI_DEFAULT": json.dumps(conn_thredfi),
            "AIRFLOW_CONN_THREDFI_SCALE_SOURCE": json.dumps(conn_source),
            "THREDFI_SCALE_BUSINESSES_PER_TASK": str(args.businesses_per_task),
            "THREDFI_SCALE_DAILY_CHUNKS": str(args.daily_chunks),
            "THREDFI_SCALE_MAX_WORKERS": str(args.max_workers),
            "THREDFI_SCALE_SCHEDULED_FROM": (
                self.window_end - dt.timedelta(days=args.scheduled_days)
            ).isoformat(),
        }
        env.pop("THREDFI_SCALE_HOSTNAME", None)
        return env

    def prepare_dags_folder(self) -> Path:
        """Symlinks to the repo's example DAGs (they stay paused) plus the workload DAGs."""
        dags = self.state / "dags"
        dags.mkdir(exist_ok=True)
        for source in [*sorted((ROOT / "dags").glob("*.py")), HERE / "thredfi_scale_dags.py",
                       HERE / "thredfi_scale_source.py"]:  # fmt: skip
            link = dags / source.name
            if not link.exists():
                link.symlink_to(source)
        return dags

    def api(self, method: str, path: str, body: dict[str, Any]) -> Any:
        """Airflow's REST API; with ``simple_auth_manager_all_admins`` every request is an admin's."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.ports['api']}/api/v2/{path}",
            data=json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return json.loads(response.read() or b"null")

    def airflow(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return run([AIRFLOW, *args], env=self.env, timeout=timeout)

    def start_airflow(self) -> None:
        self.prepare_dags_folder()
        self.spawn("api-server", [AIRFLOW, "api-server", "--port", str(self.ports["api"]), "--host", "127.0.0.1",
                                  "--workers", "1"], self.env)  # fmt: skip
        self.spawn("scheduler", [AIRFLOW, "scheduler"], self.env)
        self.spawn("dag-processor", [AIRFLOW, "dag-processor"], self.env)
        self.spawn("triggerer", [AIRFLOW, "triggerer"], self.env)
        for name in WORKERS:
            self.start_worker(name)
        health_url = f"http://127.0.0.1:{self.ports['api']}/api/v2/monitor/health"

        def healthy() -> bool:
            health = http_json(health_url)
            return all((health.get(part) or {}).get("status") == "healthy"
                       for part in ("metadatabase", "scheduler", "triggerer", "dag_processor"))  # fmt: skip

        wait_for("api-server, scheduler, triggerer and dag-processor to be healthy", healthy, timeout=300,
                 interval=2)  # fmt: skip
        for name in WORKERS:
            self.wait_worker_ready(name, since=0)
        wait_for("the workload DAGs to be parsed", lambda: len(self.query(
            "SELECT d.dag_id FROM dag d JOIN serialized_dag s ON s.dag_id = d.dag_id"
            " WHERE d.dag_id IN (%s, %s) AND NOT d.is_stale", (BULK_DAG, DAILY_DAG))) >= 2, timeout=300, interval=2)  # fmt: skip

    def start_worker(self, name: str) -> None:
        env = {**self.env, "THREDFI_SCALE_HOSTNAME": name}
        self.worker_log_offsets = getattr(self, "worker_log_offsets", {})
        log = self.logs / f"{name}.log"
        self.worker_log_offsets[name] = log.stat().st_size if log.exists() else 0
        self.spawn(name, [AIRFLOW, "celery", "worker", "--concurrency", "2", "-H", f"{name}@%h",
                          "--skip-serve-logs"], env)  # fmt: skip

    def wait_worker_ready(self, name: str, since: int | None = None) -> float:
        """Celery logs ``<node> ready.`` once it consumes; returns when it did."""
        log = self.logs / f"{name}.log"
        offset = self.worker_log_offsets.get(name, 0) if since is None else since

        def ready() -> bool:
            with log.open("rb") as f:
                f.seek(offset)
                return b" ready." in f.read()

        wait_for(f"celery worker {name} to be ready", ready, timeout=180, interval=1)
        return time.monotonic()

    # ---------------------------------------------------------------- metadata database

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg2

        if getattr(self, "_db", None) is None or self._db.closed:
            self._db = psycopg2.connect(self.dsn("airflow"), connect_timeout=10)
            self._db.autocommit = True
        with self._db.cursor() as cur:
            cur.execute("SET statement_timeout = 30000")
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    @property
    def window_end(self) -> dt.date:
        return self.args.today


# ------------------------------------------------------------------------------------ phases


def ti_counts(dep: Deployment, dag_id: str, run_ids: list[str] | None = None) -> dict[str, int]:
    where, params = "dag_id = %s", [dag_id]
    if run_ids is not None:
        where += " AND run_id = ANY(%s)"
        params.append(run_ids)
    rows = dep.query(f"SELECT COALESCE(state, 'none'), COUNT(*) FROM task_instance WHERE {where} GROUP BY 1",
                     tuple(params))  # fmt: skip
    return {state: int(n) for state, n in rows}


def running_on(dep: Deployment, worker: str, dag_id: str) -> list[dict[str, Any]]:
    rows = dep.query(
        "SELECT run_id, task_id, map_index, try_number, pid FROM task_instance"
        " WHERE dag_id = %s AND state = 'running' AND hostname = %s ORDER BY task_id, map_index",
        (dag_id, worker),
    )
    return [
        {"run_id": r[0], "task_id": r[1], "map_index": r[2], "try_number": r[3], "pid": r[4]} for r in rows
    ]


def kill_worker(dep: Deployment, name: str, dag_id: str) -> dict[str, Any]:
    """SIGKILL a worker's whole tree: its process group and the task processes that Airflow moved
    into groups of their own (which a ``killpg`` of the worker alone would leave running)."""
    proc = dep.procs[name]
    interrupted = running_on(dep, name, dag_id)
    tree = descendants(proc.pid)
    groups = {proc.pid}
    for pid in tree:
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(pid))
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=30)
    wait_for("the killed worker's processes to be gone", lambda: not any(alive(p) for p in tree), timeout=30,
             interval=0.2)  # fmt: skip
    return dep.event("worker_killed", worker=name, signal="SIGKILL", processes=len(tree) + 1,
                     process_groups=len(groups), interrupted=interrupted)  # fmt: skip


def sandbox_outage(dep: Deployment, seconds: float) -> dict[str, Any]:
    with contextlib.suppress(Exception):
        dep.sandbox_requests += int(dep.sandbox_stats()["counters"].get("requests", 0))
    down = time.monotonic()
    dep.stop("sandbox", timeout=15)
    stopped = dep.event("sandbox_stopped", port=dep.ports["sandbox"])
    time.sleep(max(0.0, seconds - (time.monotonic() - down)))
    dep.start_sandbox()
    up = dep.event("sandbox_restarted", down_seconds=round(time.monotonic() - down, 1),
                   records_after_restart=dep.sandbox_stats()["records"])  # fmt: skip
    return {"stopped": stopped, "restarted": up}


def wait_run(dep: Deployment, dag_id: str, run_id: str, timeout: float,
             on_tick: Callable[[dict[str, int]], None] | None = None) -> str:  # fmt: skip
    """Poll the run's state until it ends (bounded); ``on_tick`` sees the task-state counts."""
    deadline = time.monotonic() + timeout
    last_print = 0.0
    while time.monotonic() < deadline:
        rows = dep.query("SELECT state FROM dag_run WHERE dag_id = %s AND run_id = %s", (dag_id, run_id))
        state = rows[0][0] if rows else "absent"
        counts = ti_counts(dep, dag_id, [run_id])
        if on_tick is not None:
            on_tick(counts)
        if time.monotonic() - last_print > 15:
            last_print = time.monotonic()
            say(f"  {dag_id} {state}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        if state in ("success", "failed"):
            return str(state)
        time.sleep(1)
    raise TimeoutError(f"{dag_id} run {run_id} did not finish within {timeout:.0f}s")


class Faults:
    """Kill a worker, then take the sandbox down, each once, while tasks run. The bulk phase gets
    them; whatever it finished too early for happens during the daily phase instead."""

    def __init__(self, dep: Deployment) -> None:
        self.dep = dep
        self.done: dict[str, Any] = {}
        self.threads: list[threading.Thread] = []

    def busy(self) -> bool:
        return any(t.is_alive() for t in self.threads)

    def _background(self, target: Callable[[], None]) -> None:
        self.threads.append(threading.Thread(target=target, daemon=True))
        self.threads[-1].start()

    def tick(self, dag_id: str, counts: dict[str, int], prefix: str) -> None:
        args, dep = self.dep.args, self.dep
        if self.busy():
            return
        total = sum(counts.values())
        done = counts.get("success", 0)
        if "kill" not in self.done and args.kill_worker and total > 1 and done >= args.kill_after * total:
            running = [ti for ti in running_on(dep, VICTIM, dag_id) if ti["task_id"].startswith(prefix)]
            # Rather a Thredfi operator caught mid-sync than a task that only reads the source.
            victims = [ti for ti in running if ti["task_id"].rsplit(".", 1)[-1] in THREDFI_TASKS]
            if not victims and done >= (args.kill_after + 0.25) * total:
                victims = running
            if victims:
                say(f"SIGKILL {VICTIM} (whole process tree) with {len(victims)} task(s) running on it")
                self.done["kill"] = kill_worker(dep, VICTIM, dag_id)
                self._background(self._restart)
                return
        killed_first = "restart" in self.done or not args.kill_worker
        if ("outage" not in self.done and args.sandbox_outage and killed_first
                and done >= args.outage_after * total and counts.get("running")):  # fmt: skip
            say(f"stopping the Thredfi sandbox for {OUTAGE_SECONDS:.0f}s (same --db, same port)")
            self.done["outage"] = {"phase": dag_id}
            self._background(self._outage)

    def _restart(self) -> None:
        time.sleep(self.dep.args.restart_after)
        self.dep.start_worker(VICTIM)
        self.dep.wait_worker_ready(VICTIM)
        self.done["restart"] = self.dep.event(
            "worker_restarted",
            worker=VICTIM,
            down_seconds=round(time.monotonic() - T0 - self.done["kill"]["t"], 1),
        )
        say(f"{VICTIM} restarted and ready")

    def _outage(self) -> None:
        self.done["outage"].update(sandbox_outage(self.dep, OUTAGE_SECONDS))
        say("sandbox back")

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=240)


def bulk_phase(dep: Deployment, faults: Faults) -> dict[str, Any]:
    """Trigger the mapped bulk sync; kill a worker and take the sandbox down while it runs."""
    args = dep.args
    run_id = f"bulk-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    dep.api("PATCH", f"dags/{BULK_DAG}", {"is_paused": False})
    dep.api("POST", f"dags/{BULK_DAG}/dagRuns", {"dag_run_id": run_id, "logical_date": None})
    dep.event("bulk_triggered", run_id=run_id)
    started = time.monotonic()
    state = wait_run(dep, BULK_DAG, run_id, timeout=args.phase_timeout,
                     on_tick=lambda counts: faults.tick(BULK_DAG, counts, "sync_chunk."))  # fmt: skip
    faults.join()
    seconds = time.monotonic() - started
    dep.event("bulk_finished", run_id=run_id, state=state, seconds=round(seconds, 1))
    return {"run_id": run_id, "state": state, "seconds": round(seconds, 1),
            **task_report(dep, BULK_DAG, [run_id], faults.done.get("kill"))}  # fmt: skip


def task_report(
    dep: Deployment, dag_id: str, run_ids: list[str], kill: dict[str, Any] | None
) -> dict[str, Any]:
    """Task instances, their tries and workers, the operators' created/existing counts, and what
    became of the task instances the killed worker was running."""
    rows = dep.query(
        "SELECT task_id, map_index, state, try_number, hostname, retry_reason FROM task_instance"
        " WHERE dag_id = %s AND run_id = ANY(%s)",
        (dag_id, run_ids),
    )
    history = dep.query(
        "SELECT task_id, map_index, run_id, try_number, state, hostname FROM task_instance_history"
        " WHERE dag_id = %s AND run_id = ANY(%s) ORDER BY try_number",
        (dag_id, run_ids),
    )
    per_worker = collections.Counter(r[4] for r in rows if r[2] == "success")
    summaries: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    bodies: dict[tuple[str, str, int], dict[str, Any]] = {}
    for run_id, task_id, map_index, key, value in dep.query(
        "SELECT run_id, task_id, map_index, key, value FROM xcom WHERE dag_id = %s AND run_id = ANY(%s)"
        " AND key IN ('summary', 'return_value')",
        (dag_id, run_ids),
    ):
        body = json.loads(value) if isinstance(value, str) else value
        # A sync operator returns its summary; the older names push it as ``summary`` instead.
        ti_key = (run_id, task_id, map_index)
        if isinstance(body, dict) and "created" in body and (key == "summary" or ti_key not in bodies):
            bodies[ti_key] = body
    for (_run_id, task_id, _map_index), body in bodies.items():
        counts = summaries[task_id.rsplit(".", 1)[-1]]
        counts["created"] += int(body.get("created") or 0)
        # "existing" (older summaries) and "unchanged": Thredfi already held the record as sent.
        counts["unchanged"] += int(body.get("existing") or 0) + int(body.get("unchanged") or 0)
        counts["updated"] += int(body.get("updated") or 0)
        counts["failed"] += len(body.get("failed") or []) + len(body.get("conflicts") or [])
    report: dict[str, Any] = {
        "task_instances": len(rows),
        "task_states": dict(collections.Counter(r[2] for r in rows)),
        "tries": sum(int(r[3]) for r in rows),
        "retried_task_instances": sum(1 for r in rows if int(r[3]) > 1),
        "failed_tries": len(history),
        "successes_per_worker": dict(per_worker),
        "operator_summaries": {k: dict(v) for k, v in summaries.items()},
    }
    if kill:
        fate = []
        for ti in kill["interrupted"]:
            final = next((r for r in rows if r[0] == ti["task_id"] and r[1] == ti["map_index"]), None)
            tries = [
                {"try": h[3], "state": h[4], "worker": h[5]}
                for h in history
                if h[0] == ti["task_id"] and h[1] == ti["map_index"] and h[2] == ti["run_id"]
            ]
            fate.append({"task": f"{ti['task_id']}[{ti['map_index']}]", "killed_try": ti["try_number"],
                         "earlier_tries": tries,
                         "final": {"state": final[2], "try": final[3], "worker": final[4]} if final else None})  # fmt: skip
        report["killed_task_instances"] = fate
    return report


def daily_phase(dep: Deployment, faults: Faults) -> dict[str, Any]:
    """Unpause the daily DAG (its scheduled runs start a few days back) and backfill the window
    while they run; wait for every run to end."""
    args = dep.args
    start, end = dep.args.window_start, dep.window_end
    started = time.monotonic()
    dep.api("PATCH", f"dags/{DAILY_DAG}", {"is_paused": False})
    dep.event("daily_unpaused", scheduled_from=dep.env["THREDFI_SCALE_SCHEDULED_FROM"])
    # The scheduler catches up the last few days itself; the backfill then leaves those dates to it.
    wait_for("the scheduled daily runs", lambda: dep.query(
        "SELECT COUNT(*) FROM dag_run WHERE dag_id = %s AND run_type = 'scheduled'", (DAILY_DAG,))[0][0]
        >= args.scheduled_days, timeout=240, interval=2)  # fmt: skip
    last = end - dt.timedelta(days=1)
    result = dep.airflow("backfill", "create", "--dag-id", DAILY_DAG, "--from-date", start.isoformat(),
                         "--to-date", last.isoformat(), "--max-active-runs", str(args.backfill_max_active_runs))  # fmt: skip
    backfill = dep.query("SELECT id FROM backfill WHERE dag_id = %s ORDER BY id DESC LIMIT 1", (DAILY_DAG,))
    if not backfill:
        raise RuntimeError(f"airflow backfill create made no backfill:\n{result.stdout[-2000:]}")
    backfill_id = int(backfill[0][0])
    dep.event(
        "backfill_created", backfill_id=backfill_id, from_date=start.isoformat(), to_date=last.isoformat()
    )
    say(f"backfill {backfill_id} created for {start} .. {last}, while scheduled runs continue")
    expected_scheduled = args.scheduled_days
    deadline = time.monotonic() + args.phase_timeout
    concurrency: collections.Counter[int] = collections.Counter()
    last_print = 0.0
    while True:
        runs = dep.query("SELECT run_id, run_type, state FROM dag_run WHERE dag_id = %s", (DAILY_DAG,))
        done_backfill = dep.query("SELECT completed_at FROM backfill WHERE id = %s", (backfill_id,))[0][0]
        scheduled = [r for r in runs if r[1] == "scheduled"]
        unfinished = [r for r in runs if r[2] not in ("success", "failed")]
        active = dep.query(
            "SELECT COUNT(DISTINCT run_id) FROM task_instance WHERE dag_id = %s AND state = 'running'",
            (DAILY_DAG,),
        )[0][0]
        concurrency[int(active)] += 1
        faults.tick(DAILY_DAG, ti_counts(dep, DAILY_DAG), "sync_day_chunk.")
        if time.monotonic() - last_print > 15:
            last_print = time.monotonic()
            states = collections.Counter(f"{r[1]}:{r[2]}" for r in runs)
            say("  daily runs: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
        if (
            done_backfill is not None
            and not unfinished
            and len(scheduled) >= expected_scheduled
            and not faults.busy()
        ):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"daily runs did not finish within {args.phase_timeout:.0f}s")
        time.sleep(2)
    seconds = time.monotonic() - started
    runs = dep.query(
        "SELECT run_id, run_type, state, data_interval_start FROM dag_run WHERE dag_id = %s ORDER BY data_interval_start",
        (DAILY_DAG,),
    )
    skipped = dep.query(
        "SELECT sort_ordinal, exception_reason FROM backfill_dag_run WHERE backfill_id = %s"
        " AND exception_reason IS NOT NULL",
        (backfill_id,),
    )
    run_ids = [r[0] for r in runs]
    covered = {r[3].date() for r in runs if r[2] == "success" and start <= r[3].date() < end}
    kill = faults.done.get("kill")
    killed_here = kill and any(ti["run_id"] in run_ids for ti in kill["interrupted"])
    report = task_report(dep, DAILY_DAG, run_ids, kill if killed_here else None)
    dep.event("daily_finished", runs=len(runs), seconds=round(seconds, 1))
    return {
        "seconds": round(seconds, 1),
        "backfill_id": backfill_id,
        "runs": dict(collections.Counter(f"{r[1]}:{r[2]}" for r in runs)),
        "backfill_dates_left_to_scheduled_runs": len(skipped),
        "days": args.days,
        "days_covered_by_a_successful_run": len(covered),
        "max_runs_with_tasks_running_at_once": max(concurrency) if concurrency else 0,
        "overlap": overlap_report(dep, run_ids),
        **report,
    }


def overlap_report(dep: Deployment, run_ids: list[str]) -> dict[str, Any]:
    """Runs of neighbouring days share a day of data (the look-back); count how often the sync tasks
    of two such runs were running at the same time on different workers."""
    rows = dep.query(
        "SELECT ti.run_id, dr.data_interval_start, ti.hostname, ti.start_date, ti.end_date FROM task_instance ti"
        " JOIN dag_run dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id"
        " WHERE ti.dag_id = %s AND ti.run_id = ANY(%s) AND ti.task_id LIKE 'sync_day_chunk.%%'"
        " AND ti.start_date IS NOT NULL AND ti.end_date IS NOT NULL",
        (DAILY_DAG, run_ids),
    )
    by_day: dict[dt.date, list[tuple[Any, ...]]] = collections.defaultdict(list)
    for run_id, day, host, start, end in rows:
        by_day[day.date()].append((run_id, host, start, end))
    pairs = 0
    examples = []
    for day, tis in sorted(by_day.items()):
        neighbour = by_day.get(day + dt.timedelta(days=1), [])
        hit = next(((a, b) for a in tis for b in neighbour
                    if a[1] != b[1] and a[2] < b[3] and b[2] < a[3]), None)  # fmt: skip
        if hit:
            pairs += 1
            if len(examples) < 3:
                examples.append({"runs": [hit[0][0], hit[1][0]], "workers": [hit[0][1], hit[1][1]]})
    return {"neighbouring_runs_overlapping_on_different_workers": pairs, "examples": examples}


# ------------------------------------------------------------------------------------ the check


def check_exactly_once(
    client: Any, expected: dict[str, dict[str, dict[str, int]]], threads: int = 8
) -> dict[str, Any]:
    """Every expected invoice and payment is in Thredfi exactly once, with its amount.

    ``expected`` maps a Thredfi business id to ``{"invoices": {external_id: cents}, "payments":
    {...}}``. Reads every business's invoices and payments through the provider's client and
    counts, per kind: found, duplicates (extra copies of one ``external_id``), missing,
    unexpected (in Thredfi but not in the source) and amount mismatches. ``exact`` is true when
    all of those are zero. (The provider's reconcile operator can take this function's place.)
    """
    kinds = {"invoices": "invoices", "payments": "invoices/payments"}

    def one(item: tuple[str, dict[str, dict[str, int]]]) -> dict[str, collections.Counter[str]]:
        business_id, want = item
        out = {}
        for kind, resource in kinds.items():
            records = list(client.list_records(business_id, resource))
            seen = collections.Counter(str(r.get("external_id")) for r in records)
            amounts = {str(r.get("external_id")): int(r.get("total_amount_cents") or r.get("amount_cents") or 0)
                       for r in records}  # fmt: skip
            wanted = want[kind]
            out[kind] = collections.Counter(
                expected=len(wanted),
                found=len(records),
                duplicates=sum(n - 1 for n in seen.values() if n > 1),
                missing=sum(1 for ext in wanted if ext not in seen),
                unexpected=sum(1 for ext in seen if ext not in wanted),
                amount_mismatches=sum(
                    1 for ext, cents in wanted.items() if ext in amounts and amounts[ext] != cents
                ),
            )
        return out

    totals = {kind: collections.Counter() for kind in kinds}
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for result in pool.map(one, expected.items()):
            for kind, counter in result.items():
                totals[kind].update(counter)
    report: dict[str, Any] = {kind: {k: int(totals[kind][k]) for k in (
        "expected", "found", "duplicates", "missing", "unexpected", "amount_mismatches")} for kind in kinds}  # fmt: skip
    report["businesses"] = len(expected)
    report["exact"] = all(
        report[kind][k] == 0
        for kind in kinds
        for k in ("duplicates", "missing", "unexpected", "amount_mismatches")
    ) and all(report[kind]["expected"] == report[kind]["found"] for kind in kinds)
    return report


# ------------------------------------------------------------------------------------ main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--businesses", type=int, default=200)
    parser.add_argument(
        "--invoices-per-business", type=int, default=100, help="history invoices per business"
    )
    parser.add_argument("--days", type=int, default=30, help="days in the daily window (the backfill)")
    parser.add_argument(
        "--daily-businesses",
        type=int,
        default=20,
        help="businesses with daily invoices (the daily DAG and its backfill sync these)",
    )
    parser.add_argument("--daily-per-business", type=int, default=2, help="invoices per business per day")
    parser.add_argument("--businesses-per-task", type=int, default=5,
                        help="businesses per mapped task-group instance of the bulk DAG")  # fmt: skip
    parser.add_argument("--daily-chunks", type=int, default=2, help="mapped instances per daily run")
    parser.add_argument("--max-workers", type=int, default=8, help="operator threads per mapped instance")
    parser.add_argument(
        "--parallelism", type=int, default=32, help="[core] parallelism (tasks queued or running)"
    )
    parser.add_argument("--scheduled-days", type=int, default=3,
                        help="scheduled (not backfilled) daily runs: the scheduler starts this many days back")  # fmt: skip
    parser.add_argument("--backfill-max-active-runs", type=int, default=4)
    parser.add_argument("--small", action="store_true",
                        help="the test preset: 8 businesses x 20 invoices, 4 days, 1 business per task, same faults")  # fmt: skip
    parser.add_argument("--no-kill-worker", dest="kill_worker", action="store_false")
    parser.add_argument("--no-sandbox-outage", dest="sandbox_outage", action="store_false")
    parser.add_argument(
        "--kill-after", type=float, default=0.2, help="fraction of bulk tasks done before the kill"
    )
    parser.add_argument("--outage-after", type=float, default=0.5, help="fraction done before the outage")
    parser.add_argument(
        "--restart-after", type=float, default=5.0, help="seconds the killed worker stays down"
    )
    parser.add_argument("--heartbeat-timeout", type=int, default=60,
                        help="[scheduler] task_instance_heartbeat_timeout: how soon a killed task is retried")  # fmt: skip
    parser.add_argument("--queued-timeout", type=int, default=600, help="[scheduler] task_queued_timeout")
    parser.add_argument("--phase-timeout", type=float, default=2400, help="seconds each phase may take")
    parser.add_argument(
        "--sandbox-db",
        type=Path,
        help="the sandbox's --db file (default: on /dev/shm when there is one, else in the state dir)",
    )
    parser.add_argument("--state-dir", type=Path, help="default: a new /tmp/thredfi-distributed-* directory")
    parser.add_argument(
        "--summary", type=Path, help="where to write the JSON summary (default: STATE/summary.json)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="leave the deployment running; print the UI's URL"
    )
    parser.add_argument("--stop", type=Path, metavar="STATE_DIR", help="stop a deployment left by --keep")
    if "--small" in (sys.argv[1:] if argv is None else argv):
        parser.set_defaults(**SMALL)  # flags given next to --small still win
    args = parser.parse_args(argv)
    args.today = dt.datetime.now(dt.UTC).date()
    args.window_start = args.today - dt.timedelta(days=args.days)
    if args.scheduled_days > args.days:
        parser.error("--scheduled-days must not exceed --days")
    return args


def stop_kept(state: Path) -> None:
    info = json.loads((state / "state.json").read_text())
    for name, pgid in info["pgids"].items():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
            print(f"stopped {name}")
    time.sleep(5)
    for pgid in info["pgids"].values():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    cmd = [str(Path(info["pg_bin"]) / "pg_ctl"), "-D", info["pg_data"], "-m", "fast", "-t", "60", "stop"]
    run(cmd, timeout=90, user=info["pg_user"], check=False)
    print("stopped postgres")
    drop_shm(Path(info["sandbox_db"]))


@contextlib.contextmanager
def phase(timings: dict[str, float], name: str) -> Generator[None]:
    started = time.monotonic()
    say(f"== {name}")
    try:
        yield
    finally:
        timings[name] = round(time.monotonic() - started, 1)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.stop:
        stop_kept(args.stop)
        return 0
    signal.signal(signal.SIGTERM, _interrupt)
    timings: dict[str, float] = {}
    summary: dict[str, Any] = {"ok": False, "config": {
        k: (str(v) if isinstance(v, dt.date | Path) else v) for k, v in vars(args).items()}}  # fmt: skip
    state = args.state_dir or Path(tempfile.mkdtemp(prefix="thredfi-distributed-"))
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o755)  # the postgres user must reach its data directory inside
    summary_path = args.summary or state / "summary.json"
    with phase(timings, "install"):
        summary["installed"] = ensure_installed()
    dep = Deployment(state, args)
    say(f"state directory {state}; logs in {dep.logs}")
    try:
        with phase(timings, "services"):
            dep.start_postgres()
            dep.start_redis()
            dep.start_sandbox()
            say(
                f"postgres :{dep.ports['postgres']}, redis :{dep.ports['redis']}, sandbox :{dep.ports['sandbox']}"
            )
        with phase(timings, "seed"):
            sys.path.insert(0, str(HERE))
            import thredfi_scale_source as source

            summary["source"] = source.seed(dep.dsn("source"), businesses=args.businesses,
                                            invoices_per_business=args.invoices_per_business,
                                            daily_per_business=args.daily_per_business,
                                            daily_businesses=args.daily_businesses,
                                            window_start=args.window_start, window_end=args.today)  # fmt: skip
            say(f"source: {summary['source']}")
        with phase(timings, "migrate"):
            dep.env = dep.airflow_env()
            dep.airflow("db", "migrate", timeout=600)
        with phase(timings, "airflow_start"):
            dep.start_airflow()
            say(f"Airflow up: UI http://127.0.0.1:{dep.ports['api']}/ ; workers {', '.join(WORKERS)}")
        faults = Faults(dep)
        with phase(timings, "bulk"):
            summary["bulk"] = bulk_phase(dep, faults)
        with phase(timings, "daily_and_backfill"):
            summary["daily"] = daily_phase(dep, faults)
        summary["faults"] = faults.done
        with phase(timings, "check"):
            with contextlib.suppress(Exception):
                stats = dep.sandbox_stats()
                summary["sandbox"] = {"records": stats["records"],
                                      "requests": dep.sandbox_requests + int(stats["counters"].get("requests", 0))}  # fmt: skip
            with dep.client() as client:
                summary["check"] = check_exactly_once(client, source.expected(dep.dsn("source")))
        summary["events"] = dep.events
        summary["ok"] = bool(
            summary["check"]["exact"]
            and ("restart" in faults.done) == args.kill_worker
            and ("restarted" in faults.done.get("outage", {})) == args.sandbox_outage
            and summary["bulk"]["state"] == "success"
            and not any(k.endswith(":failed") for k in summary["daily"]["runs"])
            and summary["daily"]["days_covered_by_a_successful_run"] == args.days
        )
    except KeyboardInterrupt:
        say("interrupted: stopping everything")
        summary["error"] = "interrupted"
    except Exception as exc:
        say(f"FAILED: {type(exc).__name__}: {exc}")
        summary["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        summary["events"] = dep.events
        summary["durations"] = timings
        summary["state_dir"] = str(state)
        summary["ui"] = f"http://127.0.0.1:{dep.ports['api']}/"
        keep = args.keep and "error" not in summary
        if not keep:
            # A second Ctrl-C must not cut the cleanup short; every step of it is bounded.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            with phase(timings, "shutdown"):
                dep.stop_all()
                if summary["ok"] and not dep.pg_running:  # a stopped cluster is of no further use
                    shutil.rmtree(dep.pg_data, ignore_errors=True)
        summary["wall_seconds"] = round(time.monotonic() - T0, 1)
        summary_path.parent.mkdir(parents=True, exist_ok=True)
        summary_path.write_text(json.dumps(summary, indent=2, default=str))
        print_summary(summary, summary_path, keep)
    return 0 if summary["ok"] else 1


def print_summary(summary: dict[str, Any], path: Path, kept: bool) -> None:
    print("\n================ distributed run summary ================")
    if "source" in summary:
        s = summary["source"]
        print(f"source: {s['businesses']} businesses, {s['customers']} customers, {s['invoices']} invoices,"
              f" {s['payments']} payments")  # fmt: skip
    print("durations (s): " + ", ".join(f"{k} {v}" for k, v in summary.get("durations", {}).items())
          + f"; wall {summary.get('wall_seconds')}")  # fmt: skip
    for name in ("bulk", "daily"):
        part = summary.get(name)
        if part:
            print(f"{name}: {part.get('state', part.get('runs'))} in {part['seconds']}s; {part['task_instances']}"
                  f" task instances, {part['tries']} tries, {part['retried_task_instances']} retried;"
                  f" per worker {part['successes_per_worker']}; records {part['operator_summaries']}")  # fmt: skip
    daily = summary.get("daily")
    if daily:
        print(f"daily: {daily['days_covered_by_a_successful_run']} of {daily['days']} days covered by a successful run;"
              f" backfill dates left to scheduled runs {daily['backfill_dates_left_to_scheduled_runs']},"
              f" max runs with tasks running at once {daily['max_runs_with_tasks_running_at_once']},"
              f" overlapping neighbour runs on different workers"
              f" {daily['overlap']['neighbouring_runs_overlapping_on_different_workers']}")  # fmt: skip
    print("events:")
    for event in summary.get("events", []):
        details = {k: v for k, v in event.items() if k not in ("t", "event", "interrupted")}
        extra = f" interrupted {len(event['interrupted'])} task(s)" if "interrupted" in event else ""
        print(f"  {event['t']:>7}s {event['event']} {details}{extra}")
    for ti in (summary.get("bulk") or {}).get("killed_task_instances", []):
        print(f"  killed {ti['task']} (try {ti['killed_try']}) -> {ti['final']}")
    check = summary.get("check")
    if check:
        for kind in ("invoices", "payments"):
            c = check[kind]
            print(f"check {kind}: expected {c['expected']}, found {c['found']}, duplicates {c['duplicates']},"
                  f" missing {c['missing']}, unexpected {c['unexpected']}, amount mismatches {c['amount_mismatches']}")  # fmt: skip
        print("RESULT: every source invoice and payment is in Thredfi exactly once" if check["exact"]
              else "RESULT: MISMATCH")  # fmt: skip
    if "error" in summary:
        print(f"ERROR: {summary['error']} (logs: {summary['state_dir']}/logs)")
    print(f"summary: {path}")
    if kept:
        print(f"\nStill running. Open the UI at {summary['ui']} (every user is admin, no login).")
        print(
            f"Stop it with: {sys.executable} {Path(__file__).relative_to(ROOT) if Path(__file__).is_relative_to(ROOT) else __file__} --stop {summary['state_dir']}"
        )
    else:
        print(
            f"Everything stopped. Logs and task logs stay in {summary['state_dir']}; rerun with --keep to"
            " explore the runs in the Airflow UI."
        )


if __name__ == "__main__":
    sys.exit(main())
