"""The one-command demo: sandbox + Airflow (SQLite) + the example DAGs, then a reconciliation report.

Run by ``make demo``. Everything lives under ``.demo/``; delete it to start over. Running the
demo twice shows idempotency: the second run creates nothing in Thredfi.
"""

from __future__ import annotations

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


def run_dag(module: str, day: dt.date) -> str:
    dag = importlib.import_module(module).__dict__[module]()
    logical = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    state = str(dag.test(logical_date=logical).state)
    print(f"  {module:<32} {day}  {state}", flush=True)
    if state != "success":
        raise SystemExit(f"{module} for {day} ended {state}")
    return state


def report(app_db: Path, sandbox: object) -> None:
    from thredfi_provider.hooks.thredfi import ThredfiHook

    client = ThredfiHook().get_conn()
    with sqlite3.connect(app_db) as db:
        print("\nWritten back to the source database:")
        for table, column in (("businesses", "thredfi_business_id"), ("customers", "thredfi_customer_id"),
                              ("invoices", "thredfi_invoice_id"), ("payments", "thredfi_payment_id")):  # fmt: skip
            total, linked = db.execute(f"SELECT COUNT(*), COUNT({column}) FROM {table}").fetchone()
            print(f"  {table:<11} {linked:>4} of {total:>4} rows carry their Thredfi id")
        print("\nReconciliation (synced interval only), source vs Thredfi, per business:")
        ok = True
        for biz_id, name, thredfi_id in db.execute(
            "SELECT id, name, thredfi_business_id FROM businesses ORDER BY id"
        ):
            src_inv_n, src_inv = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(i.quantity * i.unit_price_cents), 0) FROM invoices i"
                " JOIN customers c ON c.id = i.customer_id WHERE c.business_id = ? AND i.thredfi_invoice_id IS NOT NULL",
                (biz_id,),
            ).fetchone()
            src_pay_n, src_pay = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(p.amount_cents), 0) FROM payments p JOIN invoices i ON i.id = p.invoice_id"
                " JOIN customers c ON c.id = i.customer_id WHERE c.business_id = ? AND p.thredfi_payment_id IS NOT NULL",
                (biz_id,),
            ).fetchone()
            invoices = list(client.list_records(thredfi_id, "invoices"))
            payments = list(client.list_records(thredfi_id, "invoices/payments"))
            inv_ids = [i["external_id"] for i in invoices]
            pay_ids = [p["external_id"] for p in payments]
            th_inv, th_pay = (
                sum(i["total_amount_cents"] for i in invoices),
                sum(p["total_amount_cents"] for p in payments),
            )
            once = len(inv_ids) == len(set(inv_ids)) and len(pay_ids) == len(set(pay_ids))
            match = (src_inv_n, src_inv, src_pay_n, src_pay) == (
                len(invoices),
                th_inv,
                len(payments),
                th_pay,
            ) and once
            ok &= match
            print(f"  {name}: invoices {src_inv_n} = {len(invoices)} ({src_inv / 100:,.2f} vs {th_inv / 100:,.2f}),"
                  f" payments {src_pay_n} = {len(payments)} ({src_pay / 100:,.2f} vs {th_pay / 100:,.2f})"
                  f"  {'OK' if match else 'MISMATCH'}")  # fmt: skip
    exports = sorted((DEMO / "ledger").rglob("*.jsonl"))
    rows = sum(len(p.read_text().splitlines()) for p in exports)
    print(f"\nLedger export: {len(exports)} files, {rows} journal lines under {DEMO / 'ledger'}")
    stats = sandbox.state.counters  # type: ignore[attr-defined]
    print(
        f"Thredfi sandbox saw {stats['requests']} API requests, {stats['partner_token'] + stats['business_token']} token requests"
    )
    print("\nRESULT:", "every source invoice and payment is in Thredfi exactly once" if ok else "MISMATCH")
    if not ok:
        raise SystemExit(1)


def main() -> None:
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
                "example_thredfi_ledger_export",
            ):
                run_dag(module, day)
        print("Re-running the first day (idempotency check):")
        run_dag("example_thredfi_invoice_sync", first + dt.timedelta(days=1))
        run_dag("example_thredfi_payments", first + dt.timedelta(days=1))
        report(app_db, sandbox)


if __name__ == "__main__":
    main()
