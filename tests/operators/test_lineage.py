"""OpenLineage: the sync, ledger export and reconcile operators say what they read and wrote.

The first tests ask the operators directly, as the OpenLineage listener does; the last runs a DAG
with the real ``apache-airflow-providers-openlineage`` and its file transport, and reads the events
it emitted.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.operators import invoice, run
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
from thredfi_provider.operators.sources import SqlRecords

pytest.importorskip("airflow.providers.openlineage", reason="the openlineage extra")


@pytest.fixture
def source_db(tmp_path, monkeypatch) -> Path:
    """A warehouse table of customers: flat rows, what SqlRecords streams as records."""
    path = tmp_path / "source.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE src_customers (external_id TEXT, company_name TEXT)")
        db.executemany(
            "INSERT INTO src_customers VALUES (?, ?)", [(f"lin-{n}", f"Lineage {n}") for n in range(3)]
        )
    monkeypatch.setenv("AIRFLOW_CONN_SOURCE_DB", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    return path


QUERY = "SELECT external_id, company_name FROM src_customers"


def _names(datasets) -> set[tuple[str, str]]:
    return {(d.namespace, d.name) for d in datasets}


def test_a_sync_from_sql_names_its_tables_and_each_businesss_thredfi_dataset(
    thredfi_sandbox, thredfi_conn_id, seeded, source_db, tmp_path
):
    from thredfi_provider.operators.parties import ThredfiSyncCustomersOperator

    op = ThredfiSyncCustomersOperator(task_id="s", business_id=seeded, records=SqlRecords(conn_id="source_db", sql=QUERY),
                                      details_path=str(tmp_path / "details"))  # fmt: skip
    value, _ = run(op)
    lineage = op.get_openlineage_facets_on_complete(None)
    host = f"thredfi://127.0.0.1:{thredfi_sandbox.port}"
    thredfi = [d for d in lineage.outputs if d.namespace == host]
    assert _names(thredfi) == {(host, f"businesses/{seeded}/customers")}
    assert thredfi[0].outputFacets["outputStatistics"].rowCount == value["created"] == 3
    assert any(name.endswith("src_customers") for _, name in _names(lineage.inputs)), lineage.inputs
    if value.get("details"):
        assert ("file", value["details"]) in _names(lineage.outputs)


def test_a_rerun_reports_zero_rows_written_and_a_list_source_no_input(
    thredfi_sandbox, thredfi_conn_id, seeded
):
    records = [invoice(1)]
    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=records))
    op = ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=records)
    run(op)
    lineage = op.get_openlineage_facets_on_complete(None)
    assert [
        d.outputFacets["outputStatistics"].rowCount
        for d in lineage.outputs
        if d.namespace.startswith("thredfi")
    ] == [0]
    assert lineage.inputs == []


def test_the_ledger_export_reads_thredfi_and_writes_its_file(
    thredfi_sandbox, thredfi_conn_id, seeded, tmp_path
):
    from thredfi_provider.operators.ledger import ThredfiExportLedgerOperator

    target = tmp_path / "ledger.jsonl"
    op = ThredfiExportLedgerOperator(task_id="l", business_id=seeded, path=str(target), date_from="2024-01-01",
                                     date_to="2024-12-31")  # fmt: skip
    run(op)
    lineage = op.get_openlineage_facets_on_complete(None)
    assert _names(lineage.inputs) == {(f"thredfi://127.0.0.1:{thredfi_sandbox.port}",
                                       f"businesses/{seeded}/general-ledger/journal-entries")}  # fmt: skip
    assert ("file", str(target)) in _names(lineage.outputs)


def test_the_thredfi_asset_uri_and_the_lineage_name_the_same_dataset():
    from airflow.providers.common.compat.openlineage.facet import Dataset

    from thredfi_provider.assets import convert_asset_to_openlineage, create_asset
    from thredfi_provider.compat import Asset
    from thredfi_provider.operators._lineage import asset_uri

    asset = create_asset(host="Backend.Thredfi.com", business_id="b-1", resource="invoice")
    assert Asset(asset_uri("https://backend.thredfi.com:443", "b-1", "invoices/")).uri == asset.uri
    by_path = create_asset(host="backend.thredfi.com", business_id="b-1", resource="bills/payments")
    assert (
        by_path.uri
        == create_asset(host="backend.thredfi.com", business_id="b-1", resource="bill_payment").uri
    )
    assert convert_asset_to_openlineage(asset, None) == Dataset(
        namespace="thredfi://backend.thredfi.com", name="businesses/b-1/invoices"
    )
    with pytest.raises(ValueError, match="needs a path"):
        Asset("thredfi://backend.thredfi.com/")


def test_importing_an_operator_imports_no_lineage():
    """Neither this provider's lineage module nor the OpenLineage client (Airflow itself reads the
    openlineage provider's ``get_provider_info`` when it discovers providers: that is not ours)."""
    # A moved module's old name (``operators.lineage``) is an empty stub until used: not loaded.
    code = ("import sys, thredfi_provider.operators.invoices, thredfi_provider.operators.reconcile;"
            "print('LOADED', [m for m, mod in sys.modules.items() if getattr(mod, '__file__', None) and ("
            "m.split('.')[0] == 'openlineage' or m.endswith(('.lineage', '._lineage'))"
            " or m.startswith('airflow.providers.openlineage.') and not m.endswith('get_provider_info'))])")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "LOADED []" in done.stdout, done.stdout


DAG_SOURCE = """
import datetime as dt, os
from airflow.sdk import DAG
from thredfi_provider.operators.parties import ThredfiSyncCustomersOperator
from thredfi_provider.operators.sources import SqlRecords

with DAG("thredfi_lineage", schedule=None, start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)) as dag:
    ThredfiSyncCustomersOperator(
        task_id="sync_customers",
        business_id=os.environ["THREDFI_LINEAGE_BUSINESS"],
        records=SqlRecords(conn_id="source_db", sql="SELECT external_id, company_name FROM src_customers"),
    )
"""


@pytest.mark.timeout(300)
def test_the_openlineage_provider_emits_our_datasets_from_a_real_dag_run(
    airflow_db, thredfi_sandbox, seeded, source_db, tmp_path
):
    """A fresh process (the listener and its transport are read once per process) runs dag.test()."""
    events = tmp_path / "events"
    dag_file = tmp_path / "thredfi_lineage.py"
    dag_file.write_text(DAG_SOURCE)
    env = {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "thredfi-test",
        "AIRFLOW_CONN_THREDFI_DEFAULT": thredfi_sandbox.connection_json(),
        "THREDFI_LINEAGE_BUSINESS": seeded,
        "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path),  # dag.test() serializes DAGs of its bundle
    }
    code = (f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import thredfi_lineage; "
            "run = thredfi_lineage.dag.test(); print('STATE', run.state)")  # fmt: skip
    import os

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240,
                          env={**os.environ, **env})  # fmt: skip
    assert "STATE success" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    emitted = [json.loads(line) for line in events.read_text().splitlines() if line.strip()]
    complete = [
        e for e in emitted if e.get("eventType") == "COMPLETE" and e["job"]["name"].endswith("sync_customers")
    ]
    assert complete, [e.get("eventType") for e in emitted]
    outputs = {(d["namespace"], d["name"]): d for d in complete[-1]["outputs"]}
    key = (f"thredfi://127.0.0.1:{thredfi_sandbox.port}", f"businesses/{seeded}/customers")
    assert key in outputs, outputs
    assert outputs[key]["outputFacets"]["outputStatistics"]["rowCount"] == 3
    assert any(d["name"].endswith("src_customers") for d in complete[-1]["inputs"])
