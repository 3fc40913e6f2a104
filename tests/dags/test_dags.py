"""The example DAGs: clean parsing (no network, no DB) and green end-to-end runs with dag.test()."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import DAGS

DAILY_DAG_IDS = ["example_thredfi_invoice_sync", "example_thredfi_payments", "example_thredfi_bills",
                 "example_thredfi_ledger_export"]  # fmt: skip
DAG_IDS = ["example_thredfi_onboarding", *DAILY_DAG_IDS, "example_thredfi_trial_balance",
           "example_thredfi_end_to_end", "example_thredfi_reconcile", "example_thredfi_mapped_sync"]  # fmt: skip


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


def _run(dag_id: str, day: dt.date | None, conf: dict[str, object] | None = None) -> str:
    sys.path.insert(0, str(DAGS))
    module = importlib.import_module(dag_id)
    dag = getattr(module, dag_id)()
    logical = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) if day else None
    return str(dag.test(logical_date=logical, run_conf=conf).state)


def _snapshot(example_app_db: Path, sandbox) -> dict[str, object]:
    """Everything a rerun could change: the ids written back and every record in Thredfi."""
    with sqlite3.connect(example_app_db) as db:
        source = {
            table: db.execute(f"SELECT COUNT(*), COUNT({column}) FROM {table}").fetchone()
            for table, column in (("invoices", "thredfi_invoice_id"), ("payments", "thredfi_payment_id"),
                                  ("vendors", "thredfi_vendor_id"), ("bills", "thredfi_bill_id"),
                                  ("bill_payments", "thredfi_bill_payment_id"))
        }  # fmt: skip
        trial_balance = db.execute(
            "SELECT COUNT(*), SUM(debit_cents), SUM(credit_cents) FROM trial_balance"
        ).fetchone()
    thredfi = {
        kind: sorted(r["external_id"] or r["id"] for r in sandbox.records(kind))
        for kind in ("customers", "vendors", "invoices", "payments", "bills", "bill_payments")
    }
    return {"source": source, "thredfi": thredfi, "entries": len(sandbox.records("journal_entries")),
            "trial_balance": trial_balance}  # fmt: skip


def _assert_exactly_once(snap: dict[str, object]) -> None:
    for kind, ids in snap["thredfi"].items():  # type: ignore[attr-defined]
        assert len(ids) == len(set(ids)), f"duplicate {kind} in Thredfi"
    for table, (_total, linked) in snap["source"].items():  # type: ignore[attr-defined]
        assert linked == len(snap["thredfi"][table]) > 0, table  # type: ignore[index]


def test_dags_end_to_end_twice_change_nothing_the_second_time(
    airflow_db, thredfi_sandbox, thredfi_conn_id, example_app_db, tmp_path, monkeypatch
):
    import thredfi_example_source

    first = thredfi_example_source.FIRST_DAY
    days = [first + dt.timedelta(days=n) for n in (1, 2, 3, 4)]

    def run_all() -> dict[str, object]:
        assert _run("example_thredfi_onboarding", first) == "success"
        for day in days:
            for dag_id in DAILY_DAG_IDS:
                assert _run(dag_id, day) == "success", (dag_id, day)
        assert _run("example_thredfi_trial_balance", None) == "success"
        return _snapshot(example_app_db, thredfi_sandbox)

    once = run_all()
    _assert_exactly_once(once)
    exported = sorted((tmp_path / "ledger").rglob("*.jsonl"))
    assert len(exported) == 2 * len(days)
    count, debits, credits = once["trial_balance"]  # type: ignore[misc]
    assert count > 0
    assert debits == credits > 0
    _assert_the_reconcile_dag_finds_no_drift(days, tmp_path, monkeypatch)
    twice = run_all()
    assert twice["thredfi"] == once["thredfi"]
    assert twice["source"] == once["source"]
    assert twice["entries"] == once["entries"]


def _assert_the_reconcile_dag_finds_no_drift(
    days: list[dt.date], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the syncs landed, checked by the reconcile DAG over their whole window."""
    import example_thredfi_reconcile

    reports = tmp_path / "reports"
    monkeypatch.setattr(example_thredfi_reconcile, "REPORTS", str(reports))  # this test only
    # A run at day D syncs the interval before it, [D - 1, D): together the runs covered this.
    window = {
        "window_start": (days[0] - dt.timedelta(days=1)).isoformat(),
        "window_end": days[-1].isoformat(),
    }
    assert _run("example_thredfi_reconcile", days[-1], conf=window) == "success"
    found = {path.stem: json.loads(path.read_text()) for path in reports.rglob("*.json")}
    assert set(found) == {"invoice", "payment", "bill", "bill_payment"}
    for resource, report in found.items():
        assert report["clean"], (
            resource,
            json.dumps(report["summary"]),
            json.dumps(report["businesses"])[:1500],
        )
        assert report["summary"]["thredfi"] > 0, resource


def test_end_to_end_dag_publishes_assets_and_is_idempotent(
    airflow_db, thredfi_sandbox, thredfi_conn_id, example_app_db, tmp_path
):
    import thredfi_example_source

    days = [thredfi_example_source.FIRST_DAY + dt.timedelta(days=n) for n in (1, 2, 3, 4)]
    for day in days:
        assert _run("example_thredfi_end_to_end", day) == "success", day
    once = _snapshot(example_app_db, thredfi_sandbox)
    _assert_exactly_once(once)
    assert len(sorted((tmp_path / "ledger").rglob("*.jsonl"))) == 2 * len(days)
    for day in days:  # the same intervals again, as a backfill rerun would
        assert _run("example_thredfi_end_to_end", day) == "success", day
    assert _snapshot(example_app_db, thredfi_sandbox) == once


def test_the_mapped_dag_syncs_each_business_in_its_own_instance_and_reruns_exactly(
    airflow_db, thredfi_sandbox, thredfi_conn_id, example_app_db, monkeypatch
):
    """Mapped per business, with the summaries forced into their large (details report) form."""
    import thredfi_example_source

    from thredfi_provider.operators._sync import batch_summary as summary_module

    monkeypatch.setattr(summary_module, "INLINE_RECORDS", 1)
    days = [thredfi_example_source.FIRST_DAY + dt.timedelta(days=n) for n in (1, 2)]
    assert _run("example_thredfi_onboarding", thredfi_example_source.FIRST_DAY) == "success"
    for day in days:
        assert _run("example_thredfi_mapped_sync", day) == "success", day
    held = {r["external_id"]: r["id"] for r in thredfi_sandbox.records("invoices")}
    linked = {f"inv-{n}": thredfi_id for n, thredfi_id in db_rows(example_app_db) if thredfi_id}
    assert linked == held  # every invoice synced once, and its id written back
    assert len(held) >= 4  # both days, more than one business
    for day in days:  # a rerun of each interval creates nothing and keeps every id
        assert _run("example_thredfi_mapped_sync", day) == "success", day
    assert {r["external_id"]: r["id"] for r in thredfi_sandbox.records("invoices")} == held
    assert {f"inv-{n}": i for n, i in db_rows(example_app_db) if i} == held


def test_every_stage_of_the_end_to_end_dag_publishes_an_asset():
    sys.path.insert(0, str(DAGS))
    import example_thredfi_end_to_end
    import example_thredfi_trial_balance

    dag = example_thredfi_end_to_end.example_thredfi_end_to_end()
    published = {str(o.uri) for t in dag.tasks for o in getattr(t, "outlets", [])}
    assert published == {"thredfi://example/onboarded", "thredfi://example/invoices", "thredfi://example/payments",
                         "thredfi://example/bills", "thredfi://example/ledger"}  # fmt: skip
    downstream = example_thredfi_trial_balance.example_thredfi_trial_balance()
    assert "thredfi://example/ledger" in str(downstream.timetable.asset_condition)


def test_example_dags_retry_with_exponential_backoff(monkeypatch):
    """What users copy must survive a killed worker: retries, growing waits, a cap."""
    monkeypatch.syspath_prepend(str(DAGS))
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    for dag_id in DAG_IDS:
        for task in bag.dags[dag_id].tasks:
            assert task.retries >= 1, (dag_id, task.task_id)
            assert task.retry_exponential_backoff, (dag_id, task.task_id)
            assert task.max_retry_delay is not None, (dag_id, task.task_id)


def db_rows(path):
    with sqlite3.connect(path) as db:
        return db.execute("SELECT id, thredfi_invoice_id FROM invoices").fetchall()


# ------------------------------------------------------------------ examples that run where copied


def test_example_dags_import_airflows_names_not_the_providers_internals():
    for path in sorted(DAGS.glob("*.py")):
        text = path.read_text()
        assert "thredfi_provider.compat" not in text, path.name
        assert "thredfi_provider.sandbox" not in text, path.name


def test_every_example_task_prepares_its_own_source_first(monkeypatch):
    monkeypatch.syspath_prepend(str(DAGS))
    import thredfi_example_source
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    for dag_id in DAG_IDS:
        for task in bag.dags[dag_id].tasks:
            callbacks = task.on_execute_callback
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            assert thredfi_example_source.prepare_source in callbacks, (dag_id, task.task_id)


def test_without_its_connection_the_example_source_is_made_and_seeded_in_airflow_home(monkeypatch):
    """The session's own AIRFLOW_HOME: pointing it elsewhere mid-session would move Airflow's ORM."""
    monkeypatch.syspath_prepend(str(DAGS))
    import thredfi_example_source

    made = Path(os.environ["AIRFLOW_HOME"]) / "thredfi_example_app.db"
    made.unlink(missing_ok=True)
    monkeypatch.delenv("AIRFLOW_CONN_THREDFI_EXAMPLE_APP", raising=False)
    thredfi_example_source.prepare_source()
    assert json.loads(os.environ["AIRFLOW_CONN_THREDFI_EXAMPLE_APP"])["host"] == str(made)
    with sqlite3.connect(made) as db:
        assert db.execute("SELECT COUNT(*) FROM businesses").fetchone()[0] == 2
    assert thredfi_example_source.business_records()  # the hook reads it through the connection
    monkeypatch.delenv("AIRFLOW_CONN_THREDFI_EXAMPLE_APP")


def test_with_its_connection_an_empty_example_database_is_seeded_there(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(DAGS))
    import thredfi_example_source

    mine = tmp_path / "mine.db"
    monkeypatch.setenv(
        "AIRFLOW_CONN_THREDFI_EXAMPLE_APP", json.dumps({"conn_type": "sqlite", "host": str(mine)})
    )
    thredfi_example_source.prepare_source()
    with sqlite3.connect(mine) as db:
        assert db.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] > 0
    thredfi_example_source.prepare_source()  # again: nothing is added twice
    with sqlite3.connect(mine) as db:
        assert db.execute("SELECT COUNT(*) FROM businesses").fetchone()[0] == 2


def test_without_the_sqlite_provider_an_example_task_fails_at_once_saying_what_to_install(monkeypatch):
    monkeypatch.syspath_prepend(str(DAGS))
    import thredfi_example_source
    from airflow.providers.common.compat.sdk import AirflowFailException

    monkeypatch.setitem(sys.modules, "airflow.providers.sqlite", None)  # as if not installed
    with pytest.raises(AirflowFailException, match=r"airflow-provider-thredfi\[examples\]"):
        thredfi_example_source.prepare_source()
