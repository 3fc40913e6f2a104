"""The DAG a real Airflow runs for ``bench_breadth`` and the secrets search at scale (copied in as
``thredfi_breadth.py``): one task syncs one invoice into each of the businesses listed in the file
``conf["businesses"]`` names, and appends what it cost (its wall and CPU time, its supervisor's CPU
time, its summary) to ``conf["results"]``.

``conf["mask_tokens"]`` brings back the design this provider had before: every token minted is
handed to Airflow's secrets masker. It exists so the benchmark can show the old and the new cost
side by side in one run; nothing outside this file does it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from typing import Any

import psutil
from airflow.sdk import dag

from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator


def _mask_every_token() -> None:
    from thredfi_provider.client.requestor import Requestor
    from thredfi_provider.hooks.thredfi import mask

    fetch = Requestor._fetch_token

    def masked(self: Requestor, key: str) -> Any:
        grant = fetch(self, key)
        mask(grant.access_token)
        return grant

    Requestor._fetch_token = masked  # type: ignore[method-assign]


class MeasuredSync(ThredfiSyncInvoicesOperator):
    def execute(self, context: Any) -> Any:
        conf = context["dag_run"].conf
        with open(conf["businesses"]) as f:
            businesses = json.load(f)
        self.records = [
            {"external_id": f"{conf['day']}-{n}", "business_id": business_id, "customer_external_id": "cust-0",
             "sent_at": "2024-03-01", "due_at": "2024-03-31",
             "line_items": [{"description": "Work", "quantity": 1, "unit_price_cents": 1000 + n,
                             "account_code": "4000"}]}
            for n, business_id in enumerate(businesses)
        ]  # fmt: skip
        self.state_path = conf.get("state_path")
        self.fail_on_error = not conf.get("allow_failures")
        if conf.get("mask_tokens"):
            _mask_every_token()
        if conf.get("leak_on_purpose"):  # the secrets search's proof that it can see a task log
            # Its signature: Airflow 3's log processor rewrites whole JWTs (``eyJ...``) itself.
            token = self.hook.get_conn().business_token(conf["leak_on_purpose"])
            self.log.info("signature logged on purpose: %s", token.rsplit(".", 1)[-1])
        supervisor = psutil.Process(os.getppid())
        wall, cpu, supervisor_cpu = time.perf_counter(), time.process_time(), sum(supervisor.cpu_times()[:2])
        summary = super().execute(context)
        figures = {
            "label": conf.get("label"),
            "businesses": len(businesses),
            "wall": time.perf_counter() - wall,
            "cpu": time.process_time() - cpu,
            "supervisor_cpu": sum(supervisor.cpu_times()[:2]) - supervisor_cpu,
            "summary": {k: v for k, v in summary.items() if isinstance(v, int | float | str)},
        }
        with open(conf["results"], "a") as f:
            f.write(json.dumps(figures) + "\n")
        return summary


@dag(schedule=None, start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC), catchup=False)
def thredfi_breadth() -> None:
    MeasuredSync(task_id="sync", records=[], max_workers=8, retries=0)


thredfi_breadth()
