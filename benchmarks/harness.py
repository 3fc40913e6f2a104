"""What every benchmark shares: a sandbox in its own process, a client, a table, a closing line.

The sandbox runs as a separate process so the server and the code under test do not share one
GIL (on 2 cores they get one core each); every figure is a ratio of things measured in the same
run, because these machines are too noisy for absolute times to mean anything.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="thredfi-bench-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

PARTNER_ID = "7b0c9f3e-bench-4d2a-9e61-000000000001"
API_KEY = "bench-key-" + os.urandom(6).hex()


@dataclass
class Sandbox:
    base_url: str
    process: subprocess.Popen[str]

    @property
    def connection_uri(self) -> str:
        return f"thredfi://{PARTNER_ID}:{API_KEY}@/?base_url={quote(self.base_url, safe='')}"

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """The sandbox's test-only ``/_sandbox`` endpoints (stats, faults, seeding)."""
        response = requests.request(method, self.base_url + "/_sandbox/" + path, json=body, timeout=600)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", "stats")
        return result

    def token_requests(self) -> int:
        counters = self.stats()["counters"]
        return int(counters.get("partner_token", 0)) + int(counters.get("business_token", 0))


@contextmanager
def sandbox(*flags: str) -> Generator[Sandbox]:
    """``python -m thredfi_provider.sandbox`` on a free loopback port, stopped on exit."""
    from thredfi_provider.sandbox.process import sandbox_process

    with sandbox_process(PARTNER_ID, API_KEY, *flags) as (base_url, process):
        yield Sandbox(base_url, process)


def use_connection(box: Sandbox) -> None:
    """Point ``thredfi_default`` at the sandbox, as a user's environment would."""
    os.environ["AIRFLOW_CONN_THREDFI_DEFAULT"] = box.connection_uri


def client_for(box: Sandbox, **options: Any) -> Any:
    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.client.settings import ClientSettings

    return ThredfiClient(ClientSettings(box.base_url, PARTNER_ID, API_KEY, **options))


def onboard(client: Any, external_id: str, customers: int = 1) -> str:
    business_id = str(
        client.create_business(
            {"external_id": external_id, "legal_name": f"{external_id} Ltd", "entity_type": "limited",
             "email": f"{external_id}@bench.test", "country": "GB", "base_currency": "GBP"}
        ).record["id"]
    )  # fmt: skip
    for n in range(customers):
        client.create(business_id, "customers", {"external_id": f"cust-{n}", "company_name": f"Customer {n}"})
    return business_id


def invoices(prefix: str, n: int) -> list[dict[str, Any]]:
    return [
        {"external_id": f"{prefix}-{i}", "customer_external_id": "cust-0", "invoice_number": f"{prefix}-{i}",
         "sent_at": "2024-03-01", "due_at": "2024-03-31",
         "line_items": [{"description": "Work", "quantity": 1, "unit_price_cents": 1000 + i, "account_code": "4000"}]}
        for i in range(n)
    ]  # fmt: skip


def run_operator(operator: Any) -> Any:
    """Execute an operator with the minimal context a task runner gives it."""
    import datetime as dt

    class TaskInstance:
        dag_id, run_id, task_id, map_index, try_number = "bench", "bench", operator.task_id, -1, 1

        def xcom_push(self, key: str, value: Any) -> None:
            return None

    class DagRun:
        run_after = dt.datetime(2024, 3, 2, tzinfo=dt.UTC)

    return operator.execute({"ti": TaskInstance(), "dag_run": DagRun()})


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(c) for c in header], *[[_fmt(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print(
            "  "
            + "  ".join(
                c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def key_figures(name: str, **figures: Any) -> None:
    """The last line of every benchmark: machine-greppable, ``make bench`` collects them."""
    print(f"KEY FIGURES {name}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in figures.items()), flush=True)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)
