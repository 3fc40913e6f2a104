"""The example DAGs: clean parsing (no network, no DB) and green end-to-end runs with dag.test()."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parent.parent / "dags"
DAG_IDS = ["example_thredfi_onboarding", "example_thredfi_invoice_sync", "example_thredfi_payments",
           "example_thredfi_ledger_export"]  # fmt: skip


def test_every_dag_file_parses_without_network_or_database(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a DAG file opened a socket at parse time")

    def no_sqlite(*args, **kwargs):
        raise AssertionError("a DAG file opened a database at parse time")

    monkeypatch.syspath_prepend(str(DAGS))  # Airflow puts the DAGs folder on sys.path too
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(sqlite3, "connect", no_sqlite)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == sorted(DAG_IDS)


def test_operator_modules_do_not_import_the_sandbox_or_pydantic_models():
    code = (
        "import sys, thredfi_provider.operators.invoices, thredfi_provider.operators.payments, "
        "thredfi_provider.operators.ledger, thredfi_provider.sensors.resource;"
        "bad = [m for m in ('thredfi_provider.sandbox.app', 'thredfi_provider.client.models', "
        "'thredfi_provider.client.client', 'fastapi', 'requests') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.fixture(scope="module")
def airflow_db():
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, timeout=300)


def _run(dag_id: str, day: dt.date) -> str:
    sys.path.insert(0, str(DAGS))
    module = importlib.import_module(dag_id)
    dag = getattr(module, dag_id)()
    return str(dag.test(logical_date=dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)).state)


def test_dags_end_to_end_twice_change_nothing_the_second_time(
    airflow_db, thredfi_sandbox, thredfi_conn_id, tmp_path, monkeypatch
):
    sys.path.insert(0, str(DAGS))
    import thredfi_example_source

    app_db = tmp_path / "app.db"
    thredfi_example_source.seed(str(app_db))
    monkeypatch.setenv(
        "AIRFLOW_CONN_THREDFI_EXAMPLE_APP", json.dumps({"conn_type": "sqlite", "host": str(app_db)})
    )
    monkeypatch.setenv("THREDFI_EXAMPLE_EXPORT_ROOT", str(tmp_path / "ledger"))
    first = thredfi_example_source.FIRST_DAY
    days = [first + dt.timedelta(days=n) for n in (1, 2, 3, 4)]

    def run_all() -> dict[str, object]:
        assert _run("example_thredfi_onboarding", first) == "success"
        for day in days:
            for dag_id in DAG_IDS[1:]:
                assert _run(dag_id, day) == "success", (dag_id, day)
        with sqlite3.connect(app_db) as db:
            source = db.execute(
                "SELECT (SELECT COUNT(thredfi_invoice_id) FROM invoices), (SELECT COUNT(thredfi_payment_id) FROM payments)"
            ).fetchone()
        return {
            "source": source,
            "invoices": sorted(i["external_id"] for i in thredfi_sandbox.records("invoices")),
            "payments": sorted(p["external_id"] for p in thredfi_sandbox.records("payments")),
            "entries": len(thredfi_sandbox.records("journal_entries")),
        }

    once = run_all()
    assert once["source"][0] == len(once["invoices"]) > 0
    assert once["source"][1] == len(once["payments"]) > 0
    assert len(set(once["invoices"])) == len(once["invoices"])
    exported = sorted((tmp_path / "ledger").rglob("*.jsonl"))
    assert len(exported) == 2 * len(days)
    twice = run_all()
    assert twice == once
