"""The deployment described: every service it runs, as one table of data.

:func:`table` lists PostgreSQL, Redis, the Thredfi sandbox and the Airflow components
(api-server, scheduler, dag-processor, triggerer, two Celery workers): for each, its command,
environment, readiness check, ports and how it stops. ``supervisor.py`` runs the table as local
processes; ``compose.yaml`` next to this file describes the same services for a host with Docker.
:class:`Deployment` holds what the services share: the state directory, ports and secrets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import secrets
import shutil
import socket
import sys
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WORKLOAD = ROOT / "scripts" / "distributed"  # the DAGs, their source database, the hostname callable
BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")
PARTNER_ID = "7d0c3a51-scale-4e2b-9f1a-000000000001"
WORKERS = ("worker-1", "worker-2")
SHM = Path("/dev/shm")  # noqa: S108 - a folder of our own in it, named after the state directory
Command = tuple[str, ...]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback URLs we built
        return json.loads(response.read())


# ---------------------------------------------------------------- readiness checks
# Each is called with the service's log file and the offset in it where its latest start began.


@dataclass(frozen=True)
class RedisPing:
    port: int
    interval: float = 0.3

    def __call__(self, log: Path, offset: int) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")

    def __str__(self) -> str:
        return "PONG"


@dataclass(frozen=True)
class HttpAnswers:
    url: str
    interval: float = 0.3

    def __call__(self, log: Path, offset: int) -> bool:
        return bool(http_json(self.url))

    def __str__(self) -> str:
        return f"an answer from {self.url}"


@dataclass(frozen=True)
class Healthy:
    """Airflow's health endpoint reports ``component`` healthy."""

    url: str
    component: str
    interval: float = 2.0

    def __call__(self, log: Path, offset: int) -> bool:
        return bool((http_json(self.url).get(self.component) or {}).get("status") == "healthy")

    def __str__(self) -> str:
        return f"{self.component} healthy"


@dataclass(frozen=True)
class LogSays:
    """The service's log, since its latest start, holds ``marker`` (Celery logs ``<node> ready.``)."""

    marker: bytes
    interval: float = 1.0

    def __call__(self, log: Path, offset: int) -> bool:
        with log.open("rb") as f:
            f.seek(offset)
            return self.marker in f.read()

    def __str__(self) -> str:
        return f"{self.marker.decode().strip()!r} in its log"


Probe = RedisPing | HttpAnswers | Healthy | LogSays


@dataclass(frozen=True)
class Service:
    name: str
    command: Command
    ready: Probe | None = None  # None: the command itself returns once the service runs (a daemon)
    ready_timeout: float = 60.0
    env: Mapping[str, str] | None = None  # None: this process's environment
    ports: Mapping[str, int] = field(default_factory=dict)
    user: str | None = None  # run as this user (through runuser)
    home: Path | None = None  # created (owned by ``user``) before anything runs
    setup: tuple[Command, ...] = ()  # run to completion before ``command``
    init: tuple[Command, ...] = ()  # run to completion once it is ready
    stop: Command | None = None  # a daemon (``command`` returns once it runs) is stopped by this
    tier: int = 0  # shutdown order: lower tiers first (Airflow, then what it uses)
    grace: float = 45.0  # seconds between SIGTERM and SIGKILL (a daemon's stop command's bound)


# ---------------------------------------------------------------- the deployment


class Deployment:
    """Where the deployment lives, its ports and secrets, and the Airflow configuration they make."""

    def __init__(self, state: Path, args: argparse.Namespace, pg_bin: Path) -> None:
        self.state = state
        self.args = args
        self.pg_bin = pg_bin
        self.pg_user = "postgres" if os.geteuid() == 0 else None
        self.pg_data = state / "pg" / "data"
        names = ("postgres", "redis", "sandbox", "api", "trigger_logs", "worker_logs")
        self.ports = {name: free_port() for name in names}
        self.passwords = {"airflow": secrets.token_hex(12), "source": secrets.token_hex(12)}
        self.sandbox_key = secrets.token_hex(16)
        self.sandbox_db: Path = args.sandbox_db or default_sandbox_db(state)

    @property
    def window_end(self) -> dt.date:
        today: dt.date = self.args.today
        return today

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['sandbox']}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    def dsn(self, who: str) -> str:
        user, db = ("airflow", "airflow") if who == "airflow" else ("thredfi_source", "thredfi_source")
        return f"host=127.0.0.1 port={self.ports['postgres']} user={user} password={self.passwords[who]} dbname={db}"

    def sql_url(self) -> str:
        return f"postgresql+psycopg2://airflow:{self.passwords['airflow']}@127.0.0.1:{self.ports['postgres']}/airflow"

    def thredfi_client(self) -> Any:
        from thredfi_provider.client.client import ThredfiClient
        from thredfi_provider.client.settings import ClientSettings

        return ThredfiClient(
            ClientSettings(self.sandbox_url, PARTNER_ID, self.sandbox_key, max_retry_seconds=60)
        )

    @functools.cached_property
    def env(self) -> dict[str, str]:
        """The environment of every Airflow component (and of the ``airflow`` CLI calls)."""
        from cryptography.fernet import Fernet

        args, api = self.args, self.api_url
        conn_source = {"conn_type": "postgres", "host": "127.0.0.1", "port": self.ports["postgres"],
                       "login": "thredfi_source", "password": self.passwords["source"], "schema": "thredfi_source"}  # fmt: skip
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
            "AIRFLOW__API__PORT": str(self.ports["api"]),
            "AIRFLOW__API__BASE_URL": api,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
            # Well above the 4 worker slots: the executor frees a slot only when it has read the
            # task's end back from the result backend, so at 2x the slots the workers sat idle.
            # Waiting tasks stay in Redis; a worker prefetches one per slot, so a kill strands few.
            "AIRFLOW__CORE__PARALLELISM": str(args.parallelism),
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "300",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(args.heartbeat_timeout),
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": str(args.queued_timeout),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.ports["trigger_logs"]),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.ports["worker_logs"]),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "thredfi_scale_hostname.hostname",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(WORKLOAD), os.environ.get("PYTHONPATH")])),
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
        """Symlinks to the repo's example DAGs (they stay paused) plus the workload DAGs: Airflow
        parses this folder only, never ``scripts/``."""
        dags = self.state / "dags"
        dags.mkdir(exist_ok=True)
        for source in [*sorted((ROOT / "dags").glob("*.py")), WORKLOAD / "thredfi_scale_dags.py",
                       WORKLOAD / "thredfi_scale_source.py"]:  # fmt: skip
            link = dags / source.name
            if not link.exists():
                link.symlink_to(source)
        return dags


def default_sandbox_db(state: Path) -> Path:
    """The sandbox commits each write to SQLite, in its one event loop: on a disk whose commit
    costs ~20 ms (this VM's) that alone caps it near 50 writes/s. On tmpfs the file still
    survives the sandbox's restart, which is all the outage needs."""
    if SHM.is_dir() and os.access(SHM, os.W_OK):
        folder = SHM / f"thredfi-distributed-{state.name}"
        folder.mkdir(exist_ok=True)
        return folder / "thredfi-sandbox.db"
    return state / "thredfi-sandbox.db"


def drop_shm(sandbox_db: Path) -> None:
    """Free the memory of a sandbox database kept on /dev/shm (one on disk stays, like the logs)."""
    if sandbox_db.parent.parent == SHM and sandbox_db.parent.name.startswith("thredfi-distributed-"):
        shutil.rmtree(sandbox_db.parent, ignore_errors=True)


# ---------------------------------------------------------------- the table


def table(dep: Deployment) -> dict[str, Service]:
    """Every service of the deployment, in start order."""
    pg, ports = dep.state / "pg", dep.ports
    pg_ctl, data = str(dep.pg_bin / "pg_ctl"), str(dep.pg_data)
    options = (f"-p {ports['postgres']} -c listen_addresses=127.0.0.1 -k {pg} -c max_connections=300"
               " -c shared_buffers=256MB -c synchronous_commit=off")  # fmt: skip
    roles = (f"CREATE ROLE airflow LOGIN PASSWORD '{dep.passwords['airflow']}'", "CREATE DATABASE airflow OWNER airflow",
             f"CREATE ROLE thredfi_source LOGIN PASSWORD '{dep.passwords['source']}'",
             "CREATE DATABASE thredfi_source OWNER thredfi_source")  # fmt: skip
    psql = (str(dep.pg_bin / "psql"), "-h", str(pg), "-p", str(ports["postgres"]), "-U", "postgres",
            "-v", "ON_ERROR_STOP=1", "-qc")  # fmt: skip
    health = f"{dep.api_url}/api/v2/monitor/health"

    def airflow(name: str, *command: str, ready: Probe, timeout: float = 300, **extra: Any) -> Service:
        env = {**dep.env, **extra.pop("env", {})}
        return Service(name, (AIRFLOW, *command), ready=ready, ready_timeout=timeout, env=env, **extra)

    # fmt: off
    services = [
        Service("postgres", user=dep.pg_user, home=pg, ports={"postgres": ports["postgres"]}, tier=2, grace=90,
                setup=((str(dep.pg_bin / "initdb"), "-D", data, "-U", "postgres", "-E", "UTF8", "--no-sync",
                        "--auth-local=trust", "--auth-host=scram-sha-256"),),
                command=(pg_ctl, "-D", data, "-l", str(pg / "postgres.log"), "-w", "-t", "60", "-o", options, "start"),
                ready_timeout=90, init=tuple((*psql, sql) for sql in roles),
                stop=(pg_ctl, "-D", data, "-m", "fast", "-t", "60", "stop")),
        Service("redis", (shutil.which("redis-server") or "redis-server", "--port", str(ports["redis"]),
                          "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
                          "--dir", str(dep.state / "redis")),
                ready=RedisPing(ports["redis"]), ready_timeout=30, home=dep.state / "redis",
                ports={"redis": ports["redis"]}, tier=1, grace=15),
        Service("sandbox", (str(BIN / "thredfi-sandbox"), "--port", str(ports["sandbox"]), "--db", str(dep.sandbox_db),
                            "--partner-id", PARTNER_ID, "--api-key", dep.sandbox_key),
                ready=HttpAnswers(f"{dep.sandbox_url}/_sandbox/stats"), ready_timeout=60,
                ports={"sandbox": ports["sandbox"]}, tier=1, grace=15),
        airflow("api-server", "api-server", "--port", str(ports["api"]), "--host", "127.0.0.1", "--workers", "1",
                ready=Healthy(health, "metadatabase"), ports={"api": ports["api"]}),
        airflow("scheduler", "scheduler", ready=Healthy(health, "scheduler")),
        airflow("dag-processor", "dag-processor", ready=Healthy(health, "dag_processor")),
        airflow("triggerer", "triggerer", ready=Healthy(health, "triggerer"),
                ports={"trigger_logs": ports["trigger_logs"]}),
        *(airflow(name, "celery", "worker", "--concurrency", "2", "-H", f"{name}@%h", "--skip-serve-logs",
                  ready=LogSays(b" ready."), timeout=180, env={"THREDFI_SCALE_HOSTNAME": name})
          for name in WORKERS),
    ]
    # fmt: on
    return {service.name: service for service in services}
