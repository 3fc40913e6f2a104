"""Reruns and backfills converge: the same interval three times, and a 14-day backfill twice.

The fast tests drive the operators with the example source's own per-interval queries (what
each DAG run selects); the slow one drives the example DAGs themselves with ``dag.test()``.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import DAGS
from tests.helpers.operators import run

sys.path.insert(0, str(DAGS))

import thredfi_example_source as source

# These tests exercise the deprecated names on purpose (tests/operators/test_deprecations.py checks
# each warns); elsewhere the provider's deprecation warnings are errors (pyproject.toml).
pytestmark = pytest.mark.filterwarnings(
    "ignore:Thredfi.* is deprecated and will be removed in:DeprecationWarning"
)


def _onboard() -> None:
    from thredfi_provider.operators.businesses import ThredfiOnboardBusinessOperator
    from thredfi_provider.operators.parties import (
        ThredfiUpsertCustomersOperator,
        ThredfiUpsertVendorsOperator,
    )

    source.store_ids(
        "businesses", run(ThredfiOnboardBusinessOperator(task_id="b", records=source.business_records()))[0]
    )
    for table, operator in (
        ("customers", ThredfiUpsertCustomersOperator),
        ("vendors", ThredfiUpsertVendorsOperator),
    ):
        source.store_ids(table, run(operator(task_id=table, records=source.party_records(table)))[0])


def _run_interval(day: dt.date) -> None:
    """What one scheduled run of the invoice, payment and bill DAGs does for [day, day + 1)."""
    from thredfi_provider.operators.bills import ThredfiRecordBillPaymentsOperator, ThredfiSyncBillsOperator
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
    from thredfi_provider.operators.payments import ThredfiRecordPaymentsOperator

    start, end = day.isoformat(), (day + dt.timedelta(days=1)).isoformat()
    for table, operator, records in (
        ("invoices", ThredfiSyncInvoicesOperator, source.invoice_records),
        ("payments", ThredfiRecordPaymentsOperator, source.payment_records),
        ("bills", ThredfiSyncBillsOperator, source.bill_records),
        ("bill_payments", ThredfiRecordBillPaymentsOperator, source.bill_payment_records),
    ):
        summary, _ = run(operator(task_id=table, records=records(start, end)))
        source.store_ids(table, summary)


def _state(sandbox, example_app_db: Path) -> dict[str, Any]:
    """The full final state: every Thredfi record (id, external id, status, amounts) and the source."""
    import sqlite3

    kinds = ("invoices", "payments", "bills", "bill_payments", "journal_entries")
    thredfi = {
        kind: sorted(
            (r["id"], r.get("external_id") or r.get("source_reference"), r.get("status"),
             r.get("outstanding_amount_cents"))
            for r in sandbox.records(kind)
        )
        for kind in kinds
    }  # fmt: skip
    with sqlite3.connect(example_app_db) as db:
        written = {
            t: db.execute(f"SELECT {c} FROM {t} ORDER BY id").fetchall()
            for t, (c, _) in source.WRITE_BACK.items()
        }
    return {"thredfi": thredfi, "source": written}


def test_the_same_interval_three_times_is_identical(thredfi_sandbox, thredfi_conn_id, example_app_db):
    _onboard()
    day = source.FIRST_DAY + dt.timedelta(days=3)
    for earlier in range(3):  # day 3's payments settle invoices issued on days 0 to 2
        _run_interval(source.FIRST_DAY + dt.timedelta(days=earlier))
    states = []
    for _ in range(3):
        _run_interval(day)
        states.append(_state(thredfi_sandbox, example_app_db))
    assert states[0]["thredfi"]["invoices"], "the interval must contain invoices"
    assert states[0] == states[1] == states[2]


def test_a_fourteen_day_backfill_twice_is_identical(thredfi_sandbox, thredfi_conn_id, example_app_db):
    _onboard()
    days = [source.FIRST_DAY + dt.timedelta(days=n) for n in range(14)]
    for day in days:
        _run_interval(day)
    once = _state(thredfi_sandbox, example_app_db)
    for day in reversed(days):  # a second backfill, in another order, changes nothing either
        _run_interval(day)
    assert _state(thredfi_sandbox, example_app_db) == once
    assert len(once["thredfi"]["invoices"]) == 42
    assert all(len(v) for v in once["thredfi"].values())


@pytest.mark.slow
def test_a_fourteen_day_dag_backfill_twice_is_identical(thredfi_sandbox, thredfi_conn_id, example_app_db):
    import importlib
    import subprocess

    subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "db", "migrate"], check=True, capture_output=True
    )

    def dag_run(dag_id: str, day: dt.date) -> str:
        dag = getattr(importlib.import_module(dag_id), dag_id)()
        return str(dag.test(logical_date=dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)).state)

    assert dag_run("example_thredfi_onboarding", source.FIRST_DAY) == "success"
    days = [source.FIRST_DAY + dt.timedelta(days=n) for n in range(1, 15)]
    states = []
    for _ in range(2):
        for day in days:
            for dag_id in (
                "example_thredfi_invoice_sync",
                "example_thredfi_payments",
                "example_thredfi_bills",
            ):
                assert dag_run(dag_id, day) == "success", (dag_id, day)
        states.append(_state(thredfi_sandbox, example_app_db))
    assert states[0] == states[1]
