"""No token of 1,000 businesses reaches any log or table of a real Airflow, with failing calls at DEBUG.

Tokens are no longer handed to Airflow's masker (it grew quadratically with them), so this is the
proof that they still never reach a log: a real ``airflow standalone`` (scheduler, LocalExecutor,
supervisor, api-server) at ``DEBUG`` runs one task that syncs an invoice into each of 1,000
businesses while the sandbox fails 5% of calls, token requests included, and quotes the request's
``Authorization`` header back in each failure. Then every file under the Airflow home (task logs,
component logs), the standalone's output and every row of every metadata table are searched for
every token the sandbox minted, the API key and its Basic form.

The search is shown to work in the same run: the task logs one business token on purpose
(``conf["leak_on_purpose"]``), and exactly that one must be found, in the task's log.
Slow (minutes): ``make test-slow``.
"""

from __future__ import annotations

import base64
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers import make_client, onboard
from tests.helpers.real_airflow import secrets_in, standalone
from thredfi_provider.sandbox.config import FaultConfig

pytestmark = pytest.mark.slow

BUSINESSES = 1000
DAG = Path(__file__).parents[1] / "helpers" / "breadth_dag.py"
PLANTED = re.compile(r"signature logged on purpose: ([A-Za-z0-9_-]+)")


def _onboard_many(sandbox, n: int) -> list[str]:
    client = make_client(sandbox)

    def one(i: int) -> str:
        business_id = onboard(client, f"scale-{i}")
        client.create(business_id, "customers", {"external_id": "cust-0", "company_name": f"Customer {i}"})
        return business_id

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(n)))


@pytest.mark.timeout(1500)
def test_no_token_of_a_thousand_businesses_reaches_a_log_or_table(thredfi_sandbox, tmp_path):
    businesses = _onboard_many(thredfi_sandbox, BUSINESSES)
    listing = tmp_path / "businesses.json"
    listing.write_text(json.dumps(businesses))
    connection = json.loads(thredfi_sandbox.connection_json())
    # No retries: each injected failure fails its record, so echoed errors reach the summary (XCom),
    # the details report and the log, not only the retry warnings.
    connection["extra"] = {"max_retries": 0}
    env = {
        "AIRFLOW_CONN_THREDFI_DEFAULT": json.dumps(connection),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "DEBUG",
    }
    thredfi_sandbox.set_faults(
        FaultConfig(error_rate=0.05, include_token_endpoints=True, echo_authorization=True, seed=7)
    )
    with standalone(tmp_path, {"thredfi_breadth.py": DAG.read_text()}, env) as airflow:
        conf = {"businesses": str(listing), "day": "leak", "results": str(tmp_path / "results.jsonl"),
                "leak_on_purpose": businesses[0], "allow_failures": True}  # fmt: skip
        airflow.trigger("thredfi_breadth", "leak-search", conf)
        state = airflow.wait_run("thredfi_breadth", "leak-search", timeout=900)
        places = [*airflow.files_text(), *airflow.tables_text()]

    assert thredfi_sandbox.counter("fault_error") > 50, "failing calls are what this search is about"
    tokens = thredfi_sandbox.issued_tokens
    assert len(tokens) >= BUSINESSES
    basic = base64.b64encode(f"{thredfi_sandbox.partner_id}:{thredfi_sandbox.api_key}".encode()).decode()
    wanted = {*tokens, *(t.rsplit(".", 1)[-1] for t in tokens), thredfi_sandbox.api_key, basic}
    found = {(secret, where) for where, text in places for secret in secrets_in(text, wanted)}

    task_logs = {where for where, text in places if "Thredfi invoices:" in text and "dag_id=" in where}
    assert task_logs, f"the task's log was not among the places searched (run {state})"
    debug_http = '"level":"debug","event":"http'
    assert any(debug_http in text for where, text in places if where in task_logs), "no DEBUG HTTP lines"
    summary = json.loads((tmp_path / "results.jsonl").read_text().splitlines()[-1])["summary"]
    assert summary["failed_count"] > 10, (
        "records failed with echoed errors are what reaches XCom and the report"
    )
    planted = {m for where, text in places if where in task_logs for m in PLANTED.findall(text)}
    signatures = {t.rsplit(".", 1)[-1] for t in tokens}
    assert len(planted) == 1, "the signature logged on purpose is missing: the search is blind"
    assert planted <= signatures
    assert {secret for secret, _ in found} >= planted
    leaks = {(secret[:12] + "...", where) for secret, where in found if secret not in planted}
    assert leaks == set()
