"""The DAGs ``tests/test_compat.py`` runs with ``dag.test()`` on every supported Airflow line.

They live in a DAGs folder of their own because Airflow 3 runs ``dag.test()`` only for a DAG its
bundle can parse. The business and the ledger path come from the environment the test sets.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
from typing import Any

# Airflow names through the provider's one import seam (2.11 to 3.3).
from thredfi_provider.compat import dag
from thredfi_provider.operators.ledger import ThredfiExportLedgerOperator
from thredfi_provider.sensors.resource import ThredfiResourceSensor

START = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
BUSINESS = os.environ.get("THREDFI_COMPAT_BUSINESS", "biz-unset")
LEDGER = os.environ.get("THREDFI_COMPAT_LEDGER", "/tmp/thredfi-compat-ledger.jsonl")


def invoice(n: int) -> dict[str, Any]:
    return {"external_id": f"inv-{n}", "customer_external_id": "c-1", "invoice_number": f"INV-{n}",
            "sent_at": "2024-03-01", "due_at": "2024-03-31",
            "line_items": [{"description": "Work", "quantity": 1, "unit_price_cents": 10_000,
                            "account_code": "4000"}]}  # fmt: skip


# task id -> (operator class, module, sandbox record kind, records); in the order they run.
BATCH: dict[str, tuple[str, str, str, list[dict[str, Any]]]] = {
    "businesses": ("ThredfiSyncBusinessesOperator", "businesses", "businesses", [
        {"external_id": "second", "legal_name": "Second Ltd", "entity_type": "limited",
         "email": "second@example.com", "country": "GB", "base_currency": "GBP"}]),
    "customers": ("ThredfiSyncCustomersOperator", "parties", "customers",
                  [{"external_id": f"c-{n}", "company_name": f"Customer {n}"} for n in (1, 2)]),
    "vendors": ("ThredfiSyncVendorsOperator", "parties", "vendors",
                [{"external_id": "v-1", "company_name": "Vendor 1"}]),
    "invoices": ("ThredfiSyncInvoicesOperator", "invoices", "invoices", [invoice(n) for n in (1, 2)]),
    "payments": ("ThredfiSyncPaymentsOperator", "payments", "payments", [
        {"external_id": "pay-1", "amount_cents": 10_000, "payment_date": "2024-03-10",
         "allocations": [{"invoice_external_id": "inv-1", "amount_cents": 10_000}]}]),
    "bills": ("ThredfiSyncBillsOperator", "bills", "bills", [
        {"external_id": "bill-1", "vendor_external_id": "v-1", "bill_date": "2024-03-02",
         "line_items": [{"description": "Hosting", "unit_price_cents": 9_900, "account_code": "6100"}]}]),
    "bill_payments": ("ThredfiSyncBillPaymentsOperator", "bills", "bill_payments", [
        {"external_id": "bp-1", "vendor_external_id": "v-1", "amount_cents": 9_900, "payment_date": "2024-03-09",
         "allocations": [{"bill_external_id": "bill-1", "amount_cents": 9_900}]}]),
}  # fmt: skip


@dag(dag_id="thredfi_compat_batch", schedule=None, start_date=START, catchup=False)
def thredfi_compat_batch() -> None:
    """Every batch operator, then the ledger export, in one run."""
    previous = None
    for task_id, (name, module, _, records) in BATCH.items():
        cls = getattr(importlib.import_module(f"thredfi_provider.operators.{module}"), name)
        kwargs: dict[str, Any] = {} if task_id == "businesses" else {"business_id": BUSINESS}
        current = cls(task_id=task_id, records=records, **kwargs)
        if previous is not None:
            previous >> current
        previous = current
    export = ThredfiExportLedgerOperator(
        task_id="export_ledger",
        business_id=BUSINESS,
        path=LEDGER,
        date_from="2024-01-01",
        date_to="2024-12-31",
    )
    previous >> export


@dag(dag_id="thredfi_compat_sensor", schedule=None, start_date=START, catchup=False)
def thredfi_compat_sensor() -> None:
    """The sensor in deferrable mode, waiting for an invoice the test creates later."""
    ThredfiResourceSensor(
        task_id="wait", resource="invoice", business_id=BUSINESS, external_id="late-inv",
        deferrable=True, poke_interval=1, timeout=120,
    )  # fmt: skip


batch_dag = thredfi_compat_batch()
sensor_dag = thredfi_compat_sensor()
