"""The running Airflow, as the phases and the faults see it: its metadata database (queries), its
REST API (every request is an admin's, ``simple_auth_manager_all_admins``) and its CLI."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from typing import TYPE_CHECKING, Any

from .services import AIRFLOW
from .supervisor import run, wait_for

if TYPE_CHECKING:
    from .services import Deployment


class Airflow:
    def __init__(self, dep: Deployment) -> None:
        self.dep = dep
        self._db: Any = None

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg2

        if self._db is None or self._db.closed:
            self._db = psycopg2.connect(self.dep.dsn("airflow"), connect_timeout=10)
            self._db.autocommit = True
        with self._db.cursor() as cur:
            cur.execute("SET statement_timeout = 30000")
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    def close(self) -> None:
        if self._db is not None and not self._db.closed:
            self._db.close()

    def api(self, method: str, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(  # noqa: S310 - the loopback API server
            f"{self.dep.api_url}/api/v2/{path}",
            data=json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the loopback API server
            return json.loads(response.read() or b"null")

    def cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return run([AIRFLOW, *args], env=self.dep.env, timeout=timeout)

    def wait_parsed(self, *dag_ids: str, timeout: float = 300) -> None:
        """Wait (bounded) until the DAG processor has serialized every one of ``dag_ids``."""
        marks = ", ".join(["%s"] * len(dag_ids))
        sql = ("SELECT DISTINCT d.dag_id FROM dag d JOIN serialized_dag s ON s.dag_id = d.dag_id"
               f" WHERE d.dag_id IN ({marks}) AND NOT d.is_stale")  # fmt: skip
        wait_for(f"the DAGs {', '.join(dag_ids)} to be parsed", lambda: len(self.query(sql, dag_ids)) >= len(dag_ids),
                 timeout=timeout, interval=2)  # fmt: skip
