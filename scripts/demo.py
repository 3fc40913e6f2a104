"""The one-command demo: sandbox + Airflow (SQLite) + the example DAGs, then a reconciliation report.

Run by ``make demo``. Everything lives under ``.demo/``; delete it to start over. Running the
demo twice shows idempotency: the second run creates nothing in Thredfi.

``make demo-ui`` (``--standalone``) sets up the same sandbox, source database and connections,
then starts ``airflow standalone`` so the DAGs can be explored and triggered in the UI.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / ".demo"
DAYS = int(os.environ.get("THREDFI_DEMO_DAYS", "7"))


def configure_environment() -> Path:
    DEMO.mkdir(exist_ok=True)
    os.environ.update(
        AIRFLOW_HOME=str(DEMO / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL=os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
        THREDFI_EXAMPLE_EXPORT_ROOT=str(DEMO / "ledger"),
    )
    app_db = DEMO / "app.db"
    os.environ["AIRFLOW_CONN_THREDFI_EXAMPLE_APP"] = json.dumps({"conn_type": "sqlite", "host": str(app_db)})
    sys.path.insert(0, str(ROOT / "dags"))
    sys.path.insert(0, str(ROOT / "scripts"))
    return app_db


def migrate() -> None:
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)


def run_dag(
    module: str, day: dt.date | None, summary_of: str | list[str] | None = None, run_conf: dict | None = None
) -> Any:
    """Run one DAG for one day with ``dag.test``; return a task's XCom (or several, by task) when asked."""
    dag = importlib.import_module(module).__dict__[module]()
    logical = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) if day else None
    run = dag.test(logical_date=logical, run_conf=run_conf)
    state = str(run.state)
    print(f"  {module:<32} {day or 'asset-triggered'}  {state}", flush=True)
    if state != "success":
        raise SystemExit(f"{module} for {day} ended {state}")
    if summary_of is None:
        return state
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(
            XComModel.get_many(run_id=run.run_id, key="return_value", task_ids=summary_of, dag_ids=module)
        ).all()
        values = {row.task_id: XComModel.deserialize_value(row) for row in rows}
    return values[summary_of] if isinstance(summary_of, str) else values


# What the reconciliation compares: Thredfi resource -> the source query the sync used.
RECONCILE = {
    "invoice": "invoice_records",
    "payment": "payment_records",
    "bill": "bill_records",
    "bill_payment": "bill_payment_records",
}


def synced_window(first: dt.date) -> tuple[str, str]:
    """The days the backfill synced: the run for day D covers the data interval [D-1, D)."""
    return first.isoformat(), (first + dt.timedelta(days=DAYS)).isoformat()


def edit_day(app_db: Path, first: dt.date) -> dict[str, list[tuple[int, str]]]:
    """The source changes behind the sync: re-price two invoices, cancel one, re-price a paid one."""
    import thredfi_example_source

    start, end = synced_window(first)
    changes = thredfi_example_source.edit_invoices(str(app_db), start, end)
    for kind, rows in changes.items():
        print(f"  {kind:<14} {', '.join(f'inv-{i}' for i, _ in rows) or '-'}")
    for issued in sorted({issued for rows in changes.values() for _, issued in rows}):
        day = dt.date.fromisoformat(issued) + dt.timedelta(days=1)  # the run whose interval holds it
        summary = run_dag("example_thredfi_invoice_sync", day, summary_of="sync_invoices")
        print(f"    invoices issued {issued}: {summary['created']} created, {summary['updated']} updated, "
              f"{summary['unchanged']} unchanged, {summary['voided']} voided, "
              f"{len(summary['conflicts'])} conflicts "
              + "".join(f"[{c['external_id']} {c['field']}: {c['reason']}]" for c in summary["conflicts"]))  # fmt: skip
    return changes


def reconcile(first: dt.date, expected_drift: set[str]) -> bool:
    """The example reconciliation DAG (ThredfiReconcileOperator per resource) over the synced window."""
    start, end = synced_window(first)
    os.environ["THREDFI_EXAMPLE_REPORT_ROOT"] = str(DEMO / "reports")
    print(f"\nReconciliation (example_thredfi_reconcile, ThredfiReconcileOperator), {start} to {end}:")
    reports = run_dag(
        "example_thredfi_reconcile", first + dt.timedelta(days=DAYS), summary_of=[f"reconcile_{r}" for r in RECONCILE],
        run_conf={"window_start": start, "window_end": end},
    )  # fmt: skip
    ok = True
    for resource in RECONCILE:
        report = reports[f"reconcile_{resource}"]
        summary = report["summary"]
        differs = {d["external_id"] for b in report["businesses"].values() for d in b["differs"]}
        totals: dict[str, list[int]] = {}
        for business in report["businesses"].values():
            for currency, pair in business["totals"].items():
                bucket = totals.setdefault(currency, [0, 0])
                bucket[0] += pair["source"]
                bucket[1] += pair["thredfi"]
        money = "; ".join(f"{c} {s / 100:,.2f} vs {t / 100:,.2f}" for c, (s, t) in sorted(totals.items()))
        expected = differs == (expected_drift if resource == "invoice" else set())
        clean = expected and not any(summary[k] for k in ("missing", "extra", "duplicates", "invalid"))
        ok &= clean
        print(f"  {resource:<14} {summary['source']:>4} source = {summary['thredfi']:<4} Thredfi  ({money})"
              f"  missing {summary['missing']}, extra {summary['extra']}, duplicates {summary['duplicates']},"
              f" differs {summary['differs']}  {'OK' if clean else 'MISMATCH'}")  # fmt: skip
        for business in report["businesses"].values():
            for entry in business["differs"]:
                print(f"      differs: {entry['external_id']} {json.dumps(entry['fields'])}")
    return ok


def report(app_db: Path, sandbox: object, first: dt.date, expected_drift: set[str]) -> None:
    with sqlite3.connect(app_db) as db:
        print("\nWritten back to the source database:")
        import thredfi_example_source

        for table, (column, _prefix) in thredfi_example_source.WRITE_BACK.items():
            total, linked = db.execute(f"SELECT COUNT(*), COUNT({column}) FROM {table}").fetchone()
            print(f"  {table:<13} {linked:>4} of {total:>4} rows carry their Thredfi id")
        balanced = db.execute(
            "SELECT COUNT(DISTINCT business_id), COALESCE(SUM(debit_cents), 0), COALESCE(SUM(credit_cents), 0)"
            " FROM trial_balance WHERE as_of = (SELECT MAX(as_of) FROM trial_balance)"
        ).fetchone()
    ok = reconcile(first, expected_drift)
    print(f"\nTrial balance (from the ledger Asset's downstream DAG): {balanced[0]} businesses,"
          f" debits {balanced[1] / 100:,.2f} = credits {balanced[2] / 100:,.2f}")  # fmt: skip
    ok &= balanced[0] > 0 and balanced[1] == balanced[2]
    exports = sorted((DEMO / "ledger").rglob("*.jsonl"))
    rows = sum(len(p.read_text().splitlines()) for p in exports)
    print(f"\nLedger export: {len(exports)} files, {rows} journal lines under {DEMO / 'ledger'}")
    stats = sandbox.state.counters  # type: ignore[attr-defined]
    print(
        f"Thredfi sandbox saw {stats['requests']} API requests, {stats['partner_token'] + stats['business_token']} token requests"
    )
    print(
        "\nRESULT:",
        "every source invoice, payment, bill and bill payment is in Thredfi exactly once, the edits"
        f" applied, and the one edit Thredfi cannot apply reported ({', '.join(sorted(expected_drift))})"
        if ok
        else "MISMATCH",
    )
    if not ok:
        raise SystemExit(1)


def standalone(app_db: Path, sandbox: object) -> None:
    """Hand the prepared setup to ``airflow standalone`` (api-server, scheduler, triggerer)."""
    import thredfi_example_source

    thredfi_example_source.seed(str(app_db))
    os.environ["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "False"
    port = os.environ.setdefault("AIRFLOW__API__PORT", "8080")
    os.environ.setdefault("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", f"http://localhost:{port}/execution/")
    # standalone starts its components as `airflow ...` from PATH
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    print("Starting airflow standalone; the admin password is printed below and kept in")
    print(f"{DEMO / 'airflow'}/simple_auth_manager_passwords.json.generated. Ctrl-C stops everything.")
    airflow = Path(sys.executable).with_name("airflow")
    with contextlib.suppress(KeyboardInterrupt):
        subprocess.run([str(airflow), "standalone"], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--standalone", action="store_true", help="open the same setup in airflow standalone")
    args = parser.parse_args()
    app_db = configure_environment()
    print(f"Airflow home: {os.environ['AIRFLOW_HOME']} (SQLite); migrating ...", flush=True)
    migrate()
    from thredfi_provider.sandbox.config import SandboxConfig
    from thredfi_provider.sandbox.server import SandboxServer

    db_path = str(DEMO / "thredfi-sandbox.db")
    with SandboxServer(
        SandboxConfig(db_path=db_path, partners={"9c1f5a4e-demo-4b7e-9d3a-000000000001": "demo-key-8f2k"})
    ) as sandbox:
        os.environ["AIRFLOW_CONN_THREDFI_DEFAULT"] = sandbox.connection_uri()
        print(f"Thredfi sandbox on {sandbox.base_url} (state in {db_path})")
        if args.standalone:
            standalone(app_db, sandbox)
            return
        import thredfi_example_source

        thredfi_example_source.seed(str(app_db))
        first = thredfi_example_source.FIRST_DAY
        print("Onboarding businesses and customers:")
        run_dag("example_thredfi_onboarding", first)
        print(f"Backfilling {DAYS} days of invoices, payments and ledger exports:")
        for offset in range(DAYS):
            day = first + dt.timedelta(days=offset + 1)
            for module in (
                "example_thredfi_invoice_sync",
                "example_thredfi_payments",
                "example_thredfi_bills",
                "example_thredfi_ledger_export",
            ):
                run_dag(module, day)
        print("The ledger Asset changed; its downstream DAG snapshots the trial balance:")
        run_dag("example_thredfi_trial_balance", None)
        print("Re-running the first day (idempotency check):")
        run_dag("example_thredfi_invoice_sync", first + dt.timedelta(days=1))
        run_dag("example_thredfi_payments", first + dt.timedelta(days=1))
        run_dag("example_thredfi_bills", first + dt.timedelta(days=1))
        print("A day of edits in the source, then the invoice sync for the days they touch:")
        changes = edit_day(app_db, first)
        import demo_cdc

        cdc_ok = demo_cdc.show(DEMO / "state" / dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S"))
        report(app_db, sandbox, first, {f"inv-{i}" for i, _ in changes["paid_repriced"]})
        if not cdc_ok:
            raise SystemExit("the cost section did not do what it says")


if __name__ == "__main__":
    main()
