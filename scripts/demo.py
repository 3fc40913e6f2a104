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
    return app_db


def migrate() -> None:
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)


def run_dag(module: str, day: dt.date | None) -> str:
    dag = importlib.import_module(module).__dict__[module]()
    logical = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) if day else None
    state = str(dag.test(logical_date=logical).state)
    print(f"  {module:<32} {day or 'asset-triggered'}  {state}", flush=True)
    if state != "success":
        raise SystemExit(f"{module} for {day} ended {state}")
    return state


# What each business should hold in Thredfi: (label, Thredfi resource, source count and cents of
# the rows that were synced, i.e. carry their Thredfi id).
RECONCILE = [
    ("invoices", "invoices",
     "SELECT COUNT(*), COALESCE(SUM(i.quantity * i.unit_price_cents), 0) FROM invoices i"
     " JOIN customers c ON c.id = i.customer_id WHERE c.business_id = ? AND i.thredfi_invoice_id IS NOT NULL"),
    ("payments", "invoices/payments",
     "SELECT COUNT(*), COALESCE(SUM(p.amount_cents), 0) FROM payments p JOIN invoices i ON i.id = p.invoice_id"
     " JOIN customers c ON c.id = i.customer_id WHERE c.business_id = ? AND p.thredfi_payment_id IS NOT NULL"),
    ("bills", "bills",
     "SELECT COUNT(*), COALESCE(SUM(bl.amount_cents), 0) FROM bills bl JOIN vendors v ON v.id = bl.vendor_id"
     " WHERE v.business_id = ? AND bl.thredfi_bill_id IS NOT NULL"),
    ("bill payments", "bills/payments",
     "SELECT COUNT(*), COALESCE(SUM(bp.amount_cents), 0) FROM bill_payments bp JOIN bills bl ON bl.id = bp.bill_id"
     " JOIN vendors v ON v.id = bl.vendor_id WHERE v.business_id = ? AND bp.thredfi_bill_payment_id IS NOT NULL"),
]  # fmt: skip


def report(app_db: Path, sandbox: object) -> None:
    from thredfi_provider.hooks.thredfi import ThredfiHook

    client = ThredfiHook().get_conn()
    with sqlite3.connect(app_db) as db:
        print("\nWritten back to the source database:")
        import thredfi_example_source

        for table, (column, _prefix) in thredfi_example_source.WRITE_BACK.items():
            total, linked = db.execute(f"SELECT COUNT(*), COUNT({column}) FROM {table}").fetchone()
            print(f"  {table:<13} {linked:>4} of {total:>4} rows carry their Thredfi id")
        print("\nReconciliation (synced interval only), source vs Thredfi, per business:")
        ok = True
        for biz_id, name, thredfi_id in db.execute(
            "SELECT id, name, thredfi_business_id FROM businesses ORDER BY id"
        ):
            lines = [
                (label, db.execute(sql, (biz_id,)).fetchone(), _thredfi_totals(client, thredfi_id, resource))
                for label, resource, sql in RECONCILE
            ]
            print(f"  {name}:")
            for label, source, (thredfi, unique) in lines:
                match = source == thredfi and unique
                ok &= match
                print(f"    {label:<14} {source[0]:>3} = {thredfi[0]:<3} ({source[1] / 100:>10,.2f} vs"
                      f" {thredfi[1] / 100:>10,.2f})  {'OK' if match else 'MISMATCH'}")  # fmt: skip
        balanced = db.execute(
            "SELECT COUNT(DISTINCT business_id), COALESCE(SUM(debit_cents), 0), COALESCE(SUM(credit_cents), 0)"
            " FROM trial_balance WHERE as_of = (SELECT MAX(as_of) FROM trial_balance)"
        ).fetchone()
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
        "every source invoice, payment, bill and bill payment is in Thredfi exactly once"
        if ok
        else "MISMATCH",
    )
    if not ok:
        raise SystemExit(1)


def _thredfi_totals(client: object, business_id: str, resource: str) -> tuple[tuple[int, int], bool]:
    """(count, total cents) of a resource in Thredfi, and whether every external_id appears once."""
    records = list(client.list_records(business_id, resource))  # type: ignore[attr-defined]
    ids = [r["external_id"] for r in records]
    total = sum(int(r.get("total_amount_cents") or r.get("amount_cents") or 0) for r in records)
    return (len(records), total), len(ids) == len(set(ids))


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
        report(app_db, sandbox)


if __name__ == "__main__":
    main()
