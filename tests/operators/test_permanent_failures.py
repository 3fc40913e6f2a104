"""What can never succeed fails the task at once: no retries, no five minutes of backoff first."""

from __future__ import annotations

import json

import pytest

from tests.helpers.operators import invoice, run
from thredfi_provider.compat import AirflowFailException
from thredfi_provider.operators.generic import ThredfiOperator
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
from thredfi_provider.operators.reconcile import ThredfiReconcileOperator


@pytest.mark.parametrize(
    "operator",
    [
        lambda: ThredfiSyncInvoicesOperator(task_id="s", business_id="b", records=[invoice(1)],
                                            thredfi_conn_id="thredfi_nowhere"),
        lambda: ThredfiOperator(task_id="g", path="businesses/", thredfi_conn_id="thredfi_nowhere"),
        lambda: ThredfiReconcileOperator(task_id="r", resource="customer", business_id="b", records=[],
                                         thredfi_conn_id="thredfi_nowhere"),
    ],
    ids=["sync", "generic", "reconcile"],
)  # fmt: skip
def test_a_missing_connection_fails_without_retries(operator):
    with pytest.raises(AirflowFailException, match="thredfi_nowhere"):
        run(operator())


def test_a_malformed_connection_fails_without_retries(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_THREDFI_BROKEN", json.dumps(
        {"conn_type": "thredfi", "login": "3f1c2b7a-9d4e-4c1a-8b2f-6e5d4c3b2a10", "password": "k", "host": "production",
         "extra": {"timeout": "thirty"}}
    ))  # fmt: skip
    op = ThredfiSyncInvoicesOperator(task_id="s", business_id="b", records=[invoice(1)],
                                     thredfi_conn_id="thredfi_broken")  # fmt: skip
    with pytest.raises(AirflowFailException, match=r"extra\.timeout: must be a number"):
        run(op)


def test_a_client_error_fails_without_retries_and_a_transient_one_keeps_them(thredfi_sandbox, fast_conn):
    from thredfi_provider.client.errors import ThredfiTransientError
    from thredfi_provider.sandbox.config import FaultConfig

    fast_conn(thredfi_sandbox)
    with pytest.raises(AirflowFailException, match="HTTP 404"):
        run(ThredfiOperator(task_id="g", path="businesses/00000000-0000-0000-0000-000000000000/"))
    thredfi_sandbox.set_faults(FaultConfig(error_rate=1.0, include_token_endpoints=False))
    with pytest.raises(ThredfiTransientError):
        run(ThredfiOperator(task_id="t", path="businesses/"))
