"""Faults and crashes lose nothing and duplicate nothing.

The sandbox injects mixed faults from a seed, including "drop after commit" (the write lands,
the answer never arrives): the fault that duplicates records in a client without idempotency.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import ROOT
from tests.helpers.reliability import (
    business_with_customers,
    invoice_records,
    ledger_state,
    payment_records,
    run_with_task_retries,
)
from thredfi_provider.operators.summary import read_ids
from thredfi_provider.sandbox.config import FaultConfig

# 20% of requests meet a fault: 5xx, 429, a reset before handling, a drop after commit; plus slow ones.
MIXED_20 = FaultConfig(
    error_rate=0.06, rate_limit_rate=0.04, retry_after=0.05, reset_rate=0.05, drop_after_commit_rate=0.05,
    slow_rate=0.05, slow_seconds=0.05, seed=2024,
)  # fmt: skip


def _sync_and_pay(business_id: str, n: int, details: str) -> tuple[dict, dict, int]:
    """``details``: where a summary too large for XCom puts its report (1,000 ids are near 48 KB)."""
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
    from thredfi_provider.operators.payments import ThredfiSyncPaymentsOperator

    invoices, tries_a = run_with_task_retries(
        lambda: ThredfiSyncInvoicesOperator(
            task_id="inv", business_id=business_id, records=invoice_records(n), details_path=details
        )
    )
    payments, tries_b = run_with_task_retries(
        lambda: ThredfiSyncPaymentsOperator(
            task_id="pay", business_id=business_id, records=payment_records(n), details_path=details
        )
    )
    return invoices, payments, tries_a + tries_b


@pytest.mark.parametrize(
    "n", [pytest.param(1000, id="1000"), pytest.param(5000, id="5000", marks=pytest.mark.slow)]
)
def test_twenty_percent_mixed_faults_leave_exactly_the_right_records(thredfi_sandbox, fast_conn, n, tmp_path):
    business_id = business_with_customers(thredfi_sandbox)
    fast_conn(thredfi_sandbox)
    thredfi_sandbox.set_faults(MIXED_20)

    invoices, payments, _attempts = _sync_and_pay(business_id, n, str(tmp_path))

    thredfi_sandbox.set_faults(FaultConfig())
    counters = thredfi_sandbox.state.counters
    assert counters["fault_drop"] > 10, "the run must actually meet drop-after-commit faults"
    assert counters["fault_reset"] > 10
    state = ledger_state(thredfi_sandbox, business_id)
    assert len(state["invoices"]) == n
    assert set(state["invoices"].values()) == {1}, "duplicate invoices"
    assert len(state["payments"]) == n
    assert set(state["payments"].values()) == {1}, "duplicate payments"
    assert len(state["paid"]) == n
    assert state["outstanding_cents"] == 0
    assert state["journal_entries"] == 2 * n, "a document was posted to the ledger twice"
    # The summary of the last (successful) attempt accounts for every record.
    for summary in (invoices, payments):
        assert summary["created"] + summary["unchanged"] == n
        assert summary["failed"] == []
        assert len(read_ids(summary)) == n  # inline or from the details report


CHILD = """
import json, sys
from tests.helpers.operators import run
from tests.helpers.reliability import invoice_records
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
business_id, n = sys.argv[1], int(sys.argv[2])
summary, _ = run(ThredfiSyncInvoicesOperator(task_id="inv", business_id=business_id, records=invoice_records(n),
                                             max_workers=4))
print(json.dumps(summary))
"""


def test_sigkill_mid_sync_then_rerun_leaves_exact_state(thredfi_sandbox, fast_conn, tmp_path):
    n = 600
    business_id = business_with_customers(thredfi_sandbox)
    fast_conn(thredfi_sandbox)
    thredfi_sandbox.set_faults(latency_seconds=0.01)  # long enough to kill it half-way
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, business_id, str(n)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while len(thredfi_sandbox.records("invoices", business_id)) < n // 3:
        assert child.poll() is None, "the sync finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    landed = len(thredfi_sandbox.records("invoices", business_id))
    assert 0 < landed < n

    thredfi_sandbox.set_faults(FaultConfig())
    rerun = subprocess.run(
        [sys.executable, "-c", CHILD, business_id, str(n)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(rerun.stdout.strip().splitlines()[-1])
    state = ledger_state(thredfi_sandbox, business_id)
    assert len(state["invoices"]) == n
    assert set(state["invoices"].values()) == {1}
    assert state["journal_entries"] == n
    assert summary["unchanged"] >= landed - 4  # requests in flight at the kill may have landed too
    assert summary["created"] + summary["unchanged"] == n
    assert summary["failed"] == []
