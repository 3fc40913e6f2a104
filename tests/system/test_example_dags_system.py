"""System tests: the example DAGs end to end against a real Thredfi environment.

As Airflow's providers keep them: the example DAGs themselves, run with ``dag.test()``, against
whatever ``THREDFI_SYSTEM_HOST``, ``THREDFI_SYSTEM_PARTNER`` and ``THREDFI_SYSTEM_KEY`` point at.
``make test-system`` runs them; without those variables it starts the strict sandbox and points
them there (CI does this). With development credentials the same command runs against the real
API:

    THREDFI_SYSTEM_HOST=development THREDFI_SYSTEM_PARTNER=<uuid> THREDFI_SYSTEM_KEY=<key> make test-system

Every external_id carries this run's prefix (``SYSTEM_TESTS_ENV_ID``, else a random one), so runs
against a shared environment never meet. Thredfi publishes no delete: what a run creates stays
(docs/testing.md lists it), and the test prints it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.system

DAGS = Path(__file__).parents[2] / "dags"
TABLES = {"businesses": "thredfi_business_id", "customers": "thredfi_customer_id", "vendors": "thredfi_vendor_id",
          "invoices": "thredfi_invoice_id", "payments": "thredfi_payment_id", "bills": "thredfi_bill_id",
          "bill_payments": "thredfi_bill_payment_id"}  # fmt: skip
DAILY = ["example_thredfi_invoice_sync", "example_thredfi_payments", "example_thredfi_bills",
         "example_thredfi_ledger_export"]  # fmt: skip


@pytest.fixture(scope="module")
def system_env(tmp_path_factory):
    host, partner, key = (os.environ.get(f"THREDFI_SYSTEM_{name}") for name in ("HOST", "PARTNER", "KEY"))
    if not (host and partner and key):
        pytest.skip(
            "THREDFI_SYSTEM_HOST, THREDFI_SYSTEM_PARTNER and THREDFI_SYSTEM_KEY are not set (make test-system)"
        )
    tmp = tmp_path_factory.mktemp("system")
    prefix = f"sys-{os.environ.get('SYSTEM_TESTS_ENV_ID') or uuid.uuid4().hex[:8]}-"
    env = {
        "AIRFLOW_CONN_THREDFI_DEFAULT": json.dumps(
            {"conn_type": "thredfi", "login": partner, "password": key, "host": host}
        ),
        "AIRFLOW_CONN_THREDFI_EXAMPLE_APP": json.dumps({"conn_type": "sqlite", "host": str(tmp / "app.db")}),
        "THREDFI_EXAMPLE_RUN_PREFIX": prefix,
        "THREDFI_EXAMPLE_EXPORT_ROOT": str(tmp / "ledger"),
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, timeout=300)
    sys.path.insert(0, str(DAGS))
    yield {"db": tmp / "app.db", "prefix": prefix, "reports": tmp / "reports"}
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _run(dag_id: str, day: dt.date | None, conf: dict[str, object] | None = None) -> str:
    module = importlib.import_module(dag_id)
    dag = getattr(module, dag_id)()
    logical = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) if day else None
    return str(dag.test(logical_date=logical, run_conf=conf).state)


def _linked(db: Path) -> dict[str, tuple[int, int]]:
    with sqlite3.connect(db) as conn:
        return {
            t: conn.execute(f"SELECT COUNT(*), COUNT({c}) FROM {t}").fetchone() for t, c in TABLES.items()
        }


@pytest.mark.timeout(1800)
def test_the_example_dags_end_to_end(system_env, monkeypatch):
    import example_thredfi_reconcile
    import thredfi_example_source

    first = thredfi_example_source.FIRST_DAY
    days = [first + dt.timedelta(days=n) for n in (1, 2, 3)]
    # Onboarding: businesses, then customers and vendors streamed by SqlRecords.
    assert _run("example_thredfi_onboarding", first) == "success"
    # Three days of invoices (with the deferrable sensor on their payment), payments, bills, ledger.
    for day in days:
        for dag_id in DAILY:
            assert _run(dag_id, day) == "success", (dag_id, day)
    # An edit and a cancellation in the source reach Thredfi when the days are rerun.
    start, end = (days[0] - dt.timedelta(days=1)).isoformat(), days[-1].isoformat()
    changed = thredfi_example_source.edit_invoices(str(system_env["db"]), start, end)
    assert changed["repriced"], changed
    assert changed["cancelled"], changed
    with sqlite3.connect(system_env["db"]) as db:  # a paid invoice's new price is a conflict: not here
        for invoice_id, _ in changed["paid_repriced"]:
            db.execute(
                "UPDATE invoices SET unit_price_cents = unit_price_cents - 500 WHERE id = ?", (invoice_id,)
            )
    for day in days:
        assert _run("example_thredfi_invoice_sync", day) == "success", day
    # The trial balance, then the reconcile DAG over the whole window: nothing missing or different.
    assert _run("example_thredfi_trial_balance", None) == "success"
    monkeypatch.setattr(example_thredfi_reconcile, "REPORTS", str(system_env["reports"]))
    window = {"window_start": start, "window_end": end}
    assert _run("example_thredfi_reconcile", days[-1], conf=window) == "success"
    reports = {p.stem: json.loads(p.read_text()) for p in system_env["reports"].rglob("*.json")}
    assert set(reports) == {"invoice", "payment", "bill", "bill_payment"}  # one report per resource
    assert all(r["clean"] for r in reports.values()), json.dumps(
        {k: r["summary"] for k, r in reports.items()}
    )
    # What the published reads let a reconcile compare: everything but payments, whose published
    # read carries no external_id (a real server may return more; then they are compared too).
    for resource, report in reports.items():
        assert report["complete"] or resource == "payment", (resource, report["summary"])
    # Nothing half-done: every source row the runs selected has its Thredfi id.
    linked = _linked(system_env["db"])
    assert linked["businesses"][1] == linked["businesses"][0] > 0
    assert linked["invoices"][1] > 0
    assert linked["payments"][1] > 0
    print(f"\nCreated in Thredfi with the prefix {system_env['prefix']!r} (Thredfi publishes no delete):")
    for table, (rows, with_id) in linked.items():
        print(f"  {table:<14} {with_id} of {rows} source rows")
