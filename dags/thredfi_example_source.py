"""The example "your application" database (SQLite) that the example DAGs sync from.

It stands for the user's platform: businesses, their customers and vendors, invoices and bills
across several weeks, and the payments against them, with ``thredfi_*_id`` columns the DAGs
write back (the guide's "store Thredfi IDs"). Deterministic, so the demo's report and the tests
can check exact totals.

The record builders live here, not in the DAG files, so the per-area DAGs and the end-to-end
DAG select exactly the same rows: one query per kind of record. They import Airflow's SQLite
hook inside the function, so importing this module at DAG-parse time costs nothing.

Copied into a deployment as they are, the examples need only the ``examples`` extra
(``pip install "airflow-provider-thredfi[examples]"``) and a ``thredfi_default`` connection: every
task first runs :func:`prepare_source` (``on_execute_callback``), which uses the
``thredfi_example_app`` connection when there is one, a SQLite file in ``$AIRFLOW_HOME`` when there
is not, and seeds that database when it is empty.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
from typing import Any

import pendulum
from airflow import __version__ as AIRFLOW_VERSION

log = logging.getLogger(__name__)

APP_CONN_ID = "thredfi_example_app"

# What the example DAGs publish, so downstream DAGs can schedule on Thredfi being up to date.
ONBOARDED_URI = "thredfi://example/onboarded"
INVOICES_URI = "thredfi://example/invoices"
PAYMENTS_URI = "thredfi://example/payments"
BILLS_URI = "thredfi://example/bills"
LEDGER_URI = "thredfi://example/ledger"
FIRST_DAY = dt.date(2024, 3, 1)
# Airflow 3.2 made retry_exponential_backoff a multiplier; before, True meant doubling.
_BACKOFF: float | bool = 2.0 if tuple(int(p) for p in AIRFLOW_VERSION.split(".")[:2]) >= (3, 2) else True


def prepare_source(context: Any = None) -> None:
    """Before every task: the example database exists, is seeded, and has a connection.

    A copied example must not fail on a missing connection or an empty database. A problem that
    a retry cannot fix (the sqlite provider not installed) fails the task at once.
    """
    from airflow.providers.common.compat.sdk import AirflowFailException, BaseHook

    try:
        import airflow.providers.sqlite  # noqa: F401 - only to say clearly what is missing
    except ImportError:
        raise AirflowFailException(
            "the example DAGs read their source with the sqlite provider: "
            'pip install "airflow-provider-thredfi[examples]"'
        ) from None
    try:
        path = BaseHook.get_connection(APP_CONN_ID).host
    except Exception as exc:
        if type(exc).__name__ != "AirflowNotFoundException":
            raise
        path = os.path.join(
            os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow")), "thredfi_example_app.db"
        )
        os.environ[f"AIRFLOW_CONN_{APP_CONN_ID.upper()}"] = json.dumps({"conn_type": "sqlite", "host": path})
        log.info("No %r connection: the example database is %s (create the connection to use another)",
                 APP_CONN_ID, path)  # fmt: skip
    seed(path)


# What users copy: a killed worker or a Thredfi outage longer than the client's own retry
# budget is retried by Airflow, with growing waits. Every sync here is idempotent, so a
# retry never duplicates; an error a retry cannot fix fails the task at once (the provider's
# operators raise AirflowFailException for those).
DEFAULT_ARGS: dict[str, Any] = {
    "retries": 3,
    "retry_delay": dt.timedelta(seconds=30),
    "retry_exponential_backoff": _BACKOFF,
    "max_retry_delay": dt.timedelta(minutes=10),
    "on_execute_callback": prepare_source,
}
DAYS = 21

SCHEMA = """
CREATE TABLE IF NOT EXISTS businesses (id INTEGER PRIMARY KEY, name TEXT, email TEXT, country TEXT,
    currency TEXT, thredfi_business_id TEXT);
CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, business_id INTEGER, name TEXT, email TEXT,
    thredfi_customer_id TEXT);
CREATE TABLE IF NOT EXISTS invoices (id INTEGER PRIMARY KEY, customer_id INTEGER, number TEXT, issued_on TEXT,
    due_on TEXT, description TEXT, quantity INTEGER, unit_price_cents INTEGER, thredfi_invoice_id TEXT,
    status TEXT);
CREATE TABLE IF NOT EXISTS payments (id INTEGER PRIMARY KEY, invoice_id INTEGER, paid_on TEXT, amount_cents INTEGER,
    thredfi_payment_id TEXT);
CREATE TABLE IF NOT EXISTS vendors (id INTEGER PRIMARY KEY, business_id INTEGER, name TEXT, email TEXT,
    thredfi_vendor_id TEXT);
CREATE TABLE IF NOT EXISTS bills (id INTEGER PRIMARY KEY, vendor_id INTEGER, number TEXT, billed_on TEXT,
    due_on TEXT, description TEXT, amount_cents INTEGER, thredfi_bill_id TEXT);
CREATE TABLE IF NOT EXISTS bill_payments (id INTEGER PRIMARY KEY, bill_id INTEGER, paid_on TEXT,
    amount_cents INTEGER, thredfi_bill_payment_id TEXT);
CREATE TABLE IF NOT EXISTS trial_balance (business_id INTEGER, as_of TEXT, account_code TEXT, name TEXT,
    debit_cents INTEGER, credit_cents INTEGER, PRIMARY KEY (business_id, as_of, account_code));
"""


def run_prefix() -> str:
    """Put before every external_id: empty by default; a system test run sets a unique one
    (``THREDFI_EXAMPLE_RUN_PREFIX``), so runs against a shared Thredfi environment never meet."""
    return os.environ.get("THREDFI_EXAMPLE_RUN_PREFIX", "")


def eid(prefix: str, row_id: Any) -> str:
    return f"{run_prefix()}{prefix}{row_id}"


def source_id(external_id: str, prefix: str) -> int:
    return int(external_id.removeprefix(run_prefix() + prefix))


# Which Thredfi id column each kind of record writes back to, and the prefix of its external id.
WRITE_BACK = {
    "businesses": ("thredfi_business_id", "biz-"),
    "customers": ("thredfi_customer_id", "cust-"),
    "vendors": ("thredfi_vendor_id", "vend-"),
    "invoices": ("thredfi_invoice_id", "inv-"),
    "payments": ("thredfi_payment_id", "pay-"),
    "bills": ("thredfi_bill_id", "bill-"),
    "bill_payments": ("thredfi_bill_payment_id", "bpay-"),
}


def seed(path: str) -> None:
    """Create and fill the database; each part is seeded once, so reseeding an old file only adds
    what it lacks (payables came after receivables) and never duplicates a row."""
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        if not db.execute("SELECT COUNT(*) FROM businesses").fetchone()[0]:
            _seed_receivables(db)
        if not db.execute("SELECT COUNT(*) FROM vendors").fetchone()[0]:
            _seed_payables(db)


def _seed_receivables(db: sqlite3.Connection) -> None:
    db.executemany(
        "INSERT INTO businesses (id, name, email, country, currency) VALUES (?, ?, ?, ?, ?)",
        [(1, "Northwind Studio Ltd", "books@northwind.test", "GB", "GBP"),
         (2, "Blue Harbour Cafe Ltd", "hello@blueharbour.test", "GB", "GBP")],
    )  # fmt: skip
    customers = [
        (b * 10 + n, b, f"Client {b}-{n}", f"client{b}{n}@example.test") for b in (1, 2) for n in (1, 2, 3)
    ]
    db.executemany("INSERT INTO customers (id, business_id, name, email) VALUES (?, ?, ?, ?)", customers)
    invoice_id = 0
    payments = []
    for day in range(DAYS):
        issued = FIRST_DAY + dt.timedelta(days=day)
        for customer_id, *_ in customers[day % 2 :: 2]:
            invoice_id += 1
            cents = 5_000 + (invoice_id * 1_237) % 20_000
            quantity = 1 + invoice_id % 3
            db.execute(
                "INSERT INTO invoices (id, customer_id, number, issued_on, due_on, description, quantity,"
                " unit_price_cents) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (invoice_id, customer_id, f"INV-{invoice_id:04d}", issued.isoformat(),
                 (issued + dt.timedelta(days=30)).isoformat(), "Services", quantity, cents),
            )  # fmt: skip
            if invoice_id % 3:  # two in three invoices get paid, some in two parts
                total = quantity * cents
                paid_on = issued + dt.timedelta(days=1 + invoice_id % 4)
                if invoice_id % 2:
                    payments.append((invoice_id, paid_on.isoformat(), total))
                else:
                    payments.append((invoice_id, paid_on.isoformat(), total // 2))
                    payments.append(
                        (invoice_id, (paid_on + dt.timedelta(days=2)).isoformat(), total - total // 2)
                    )
    db.executemany("INSERT INTO payments (invoice_id, paid_on, amount_cents) VALUES (?, ?, ?)", payments)


def _seed_payables(db: sqlite3.Connection) -> None:
    vendors = [
        (b * 10 + n, b, f"Supplier {b}-{n}", f"ap{b}{n}@supplier.test") for b in (1, 2) for n in (1, 2)
    ]
    db.executemany("INSERT INTO vendors (id, business_id, name, email) VALUES (?, ?, ?, ?)", vendors)
    bill_id = 0
    for day in range(0, DAYS, 3):  # a bill from every vendor every third day; most paid a week later
        billed = FIRST_DAY + dt.timedelta(days=day)
        for vendor_id, *_ in vendors:
            bill_id += 1
            cents = 2_500 + (bill_id * 911) % 9_000
            db.execute(
                "INSERT INTO bills (id, vendor_id, number, billed_on, due_on, description, amount_cents)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (bill_id, vendor_id, f"B-{bill_id:04d}", billed.isoformat(),
                 (billed + dt.timedelta(days=14)).isoformat(), "Supplies", cents),
            )  # fmt: skip
            if bill_id % 4:
                paid_on = billed + dt.timedelta(days=2 + bill_id % 5)
                db.execute(
                    "INSERT INTO bill_payments (bill_id, paid_on, amount_cents) VALUES (?, ?, ?)",
                    (bill_id, paid_on.isoformat(), cents),
                )


# [START howto_source_thredfi_interval_bounds]
def interval_bounds(context: Any) -> tuple[str, str]:
    """[start, end) of the run's data interval as dates; a manual run without one covers run_after's day."""
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is None or end is None or start == end:
        # Airflow hands pendulum DateTimes; run_after may be a plain datetime, so wrap it.
        start = pendulum.instance(context.get("logical_date") or context["dag_run"].run_after).start_of("day")
        end = start.add(days=1)
    return start.date().isoformat(), end.date().isoformat()


# [END howto_source_thredfi_interval_bounds]


def app_db() -> Any:
    from airflow.providers.sqlite.hooks.sqlite import SqliteHook

    return SqliteHook(sqlite_conn_id=APP_CONN_ID)


def store_ids(table: str, summary: dict[str, Any]) -> int:
    """Write Thredfi ids back next to the source rows, from a sync's summary.

    ``read_ids`` reads the summary in either form: ids inline (a small batch), or the details
    report a large batch writes to storage, so this works at any batch size. (A plain
    ``{external_id: id}`` mapping, what the deprecated operator names return, is taken as is.)
    """
    from thredfi_provider.operators.summary import read_ids

    ids = read_ids(summary) if "total" in summary else dict(summary)
    column, prefix = WRITE_BACK[table]
    db = app_db()
    for external_id, thredfi_id in ids.items():
        db.run(
            f"UPDATE {table} SET {column} = ? WHERE id = ?",  # noqa: S608 - names come from WRITE_BACK
            parameters=(thredfi_id, source_id(external_id, prefix)),
        )
    return len(ids)


# ---------------------------------------------------------------------- record builders


def business_records() -> list[dict[str, Any]]:
    rows = app_db().get_records("SELECT id, name, email, country, currency FROM businesses ORDER BY id")
    return [
        {"external_id": eid("biz-", r[0]), "legal_name": r[1], "email": r[2], "entity_type": "limited",
         "country": r[3], "base_currency": r[4]}
        for r in rows
    ]  # fmt: skip


# [START howto_source_thredfi_party_query]
def party_query(table: str) -> str:
    """Customers or vendors of every onboarded business, already in Thredfi's shape.

    Flat records need no Python: ``SqlRecords`` streams this query's rows as records, its
    column names as the fields.
    """
    prefix = WRITE_BACK[table][1]
    return (
        f"SELECT '{run_prefix()}{prefix}' || p.id AS external_id, p.name AS company_name, p.email AS email,"  # noqa: S608
        f" b.thredfi_business_id AS business_id FROM {table} p JOIN businesses b ON b.id = p.business_id"
        " WHERE b.thredfi_business_id IS NOT NULL ORDER BY p.id"
    )


# [END howto_source_thredfi_party_query]


def party_records(table: str) -> list[dict[str, Any]]:
    """The same rows as :func:`party_query`, as a list (for a task that passes them on)."""
    columns = ("external_id", "company_name", "email", "business_id")
    return [dict(zip(columns, row, strict=True)) for row in app_db().get_records(party_query(table))]


# [START howto_source_thredfi_invoice_records]
def invoice_records(start: str, end: str) -> list[dict[str, Any]]:
    rows = app_db().get_records(
        "SELECT i.id, i.customer_id, i.number, i.issued_on, i.due_on, i.description, i.quantity,"
        " i.unit_price_cents, b.thredfi_business_id, i.status FROM invoices i JOIN customers c ON c.id = i.customer_id"
        " JOIN businesses b ON b.id = c.business_id WHERE i.issued_on >= ? AND i.issued_on < ? ORDER BY i.id",
        parameters=(start, end),
    )
    return [
        {"external_id": eid("inv-", r[0]), "business_id": r[8], "customer_external_id": eid("cust-", r[1]),
         "invoice_number": r[2], "sent_at": r[3], "due_at": r[4], "cancelled": r[9] == "cancelled",
         "line_items": [{"description": r[5], "quantity": r[6], "unit_price_cents": r[7], "account_code": "4000"}]}
        for r in rows
    ]  # fmt: skip


# [END howto_source_thredfi_invoice_records]


def edit_invoices(path: str, start: str, end: str) -> dict[str, list[tuple[int, str]]]:
    """A day of source edits the demo syncs: two invoices re-priced, one cancelled, and one that
    is already paid re-priced too (Thredfi must refuse that one, and the sync must say so).

    Returns ``{"repriced" | "cancelled" | "paid_repriced": [(invoice id, issued_on)]}``.
    """
    with sqlite3.connect(path) as db:
        paid = "SELECT 1 FROM payments p WHERE p.invoice_id = i.id"
        unpaid = db.execute(
            f"SELECT id, issued_on FROM invoices i WHERE issued_on >= ? AND issued_on < ? AND NOT EXISTS ({paid})"  # noqa: S608
            " ORDER BY id LIMIT 3",
            (start, end),
        ).fetchall()
        settled = db.execute(
            f"SELECT id, issued_on FROM invoices i WHERE issued_on >= ? AND issued_on < ? AND EXISTS ({paid})"  # noqa: S608
            " ORDER BY id LIMIT 1",
            (start, end),
        ).fetchall()
        changes = {"repriced": unpaid[:2], "cancelled": unpaid[2:3], "paid_repriced": settled}
        for invoice_id, _ in changes["repriced"] + changes["paid_repriced"]:
            db.execute(
                "UPDATE invoices SET unit_price_cents = unit_price_cents + 500 WHERE id = ?", (invoice_id,)
            )
        for invoice_id, _ in changes["cancelled"]:
            db.execute("UPDATE invoices SET status = 'cancelled' WHERE id = ?", (invoice_id,))
    return changes


def payment_records(start: str, end: str) -> list[dict[str, Any]]:
    rows = app_db().get_records(
        "SELECT p.id, p.invoice_id, p.paid_on, p.amount_cents, b.thredfi_business_id FROM payments p"
        " JOIN invoices i ON i.id = p.invoice_id JOIN customers c ON c.id = i.customer_id"
        " JOIN businesses b ON b.id = c.business_id WHERE p.paid_on >= ? AND p.paid_on < ? ORDER BY p.id",
        parameters=(start, end),
    )
    return [
        {"external_id": eid("pay-", r[0]), "business_id": r[4], "amount_cents": r[3], "payment_date": r[2],
         "allocations": [{"invoice_external_id": eid("inv-", r[1]), "amount_cents": r[3]}]}
        for r in rows
    ]  # fmt: skip


def settled_invoices(payments: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The invoices these payments settle in full (by the payment's date): what a sensor can wait on."""
    db = app_db()
    settled = []
    for rec in payments:
        invoice_id = source_id(rec["allocations"][0]["invoice_external_id"], "inv-")
        due, paid = db.get_first(
            "SELECT i.quantity * i.unit_price_cents, (SELECT SUM(amount_cents) FROM payments p"
            " WHERE p.invoice_id = i.id AND p.paid_on <= ?) FROM invoices i WHERE i.id = ?",
            parameters=(rec["payment_date"], invoice_id),
        )
        if paid == due:
            settled.append({"business_id": rec["business_id"], "external_id": eid("inv-", invoice_id)})
    return settled


def bill_records(start: str, end: str) -> list[dict[str, Any]]:
    rows = app_db().get_records(
        "SELECT bl.id, bl.vendor_id, bl.number, bl.billed_on, bl.due_on, bl.description, bl.amount_cents,"
        " b.thredfi_business_id FROM bills bl JOIN vendors v ON v.id = bl.vendor_id"
        " JOIN businesses b ON b.id = v.business_id WHERE bl.billed_on >= ? AND bl.billed_on < ? ORDER BY bl.id",
        parameters=(start, end),
    )
    return [
        {"external_id": eid("bill-", r[0]), "business_id": r[7], "vendor_external_id": eid("vend-", r[1]),
         "bill_number": r[2], "bill_date": r[3], "due_at": r[4],
         "line_items": [{"description": r[5], "unit_price_cents": r[6], "account_code": "5000"}]}
        for r in rows
    ]  # fmt: skip


def bill_payment_records(start: str, end: str) -> list[dict[str, Any]]:
    rows = app_db().get_records(
        "SELECT bp.id, bp.bill_id, bp.paid_on, bp.amount_cents, bl.vendor_id, b.thredfi_business_id"
        " FROM bill_payments bp JOIN bills bl ON bl.id = bp.bill_id JOIN vendors v ON v.id = bl.vendor_id"
        " JOIN businesses b ON b.id = v.business_id WHERE bp.paid_on >= ? AND bp.paid_on < ? ORDER BY bp.id",
        parameters=(start, end),
    )
    return [
        {"external_id": eid("bpay-", r[0]), "business_id": r[5], "vendor_external_id": eid("vend-", r[4]),
         "amount_cents": r[3], "payment_date": r[2],
         "allocations": [{"bill_external_id": eid("bill-", r[1]), "amount_cents": r[3]}]}
        for r in rows
    ]  # fmt: skip


def onboarded_businesses() -> list[tuple[int, str]]:
    """(source id, Thredfi id) of every business already onboarded."""
    rows = app_db().get_records(
        "SELECT id, thredfi_business_id FROM businesses WHERE thredfi_business_id IS NOT NULL ORDER BY id"
    )
    return [(int(r[0]), str(r[1])) for r in rows]


def export_targets() -> list[dict[str, Any]]:
    """One ledger export per onboarded business; ``{{ ds }}`` renders per run, so a rerun overwrites
    its own file rather than appending. The root comes from ``THREDFI_EXAMPLE_EXPORT_ROOT``."""
    root = os.environ.get("THREDFI_EXAMPLE_EXPORT_ROOT", "/tmp/thredfi-ledger")  # noqa: S108
    return [
        {"business_id": thredfi_id, "path": f"file://{root}/biz-{row_id}/{{{{ ds }}}}.jsonl"}
        for row_id, thredfi_id in onboarded_businesses()
    ]


def store_trial_balance(
    as_of: str, business_ids: list[str], charts: list[list[dict[str, Any]]]
) -> dict[str, int]:
    """Keep a trial balance per business (replacing that day's), and refuse one that does not balance:
    a ledger whose debits and credits differ is not something to report on."""
    row_ids = {thredfi_id: row_id for row_id, thredfi_id in onboarded_businesses()}
    db = app_db()
    totals: dict[str, int] = {}
    for business_id, accounts in zip(business_ids, charts, strict=True):
        debit = sum(int(a.get("debit_balance") or 0) for a in accounts)
        credit = sum(int(a.get("credit_balance") or 0) for a in accounts)
        if debit != credit:
            raise ValueError(f"business {business_id}: debits {debit} != credits {credit}")
        row_id = row_ids[business_id]
        db.run("DELETE FROM trial_balance WHERE business_id = ? AND as_of = ?", parameters=(row_id, as_of))
        db.insert_rows(
            "trial_balance",
            [(row_id, as_of, a["code"], a["name"], a.get("debit_balance") or 0, a.get("credit_balance") or 0)
             for a in accounts],
            target_fields=["business_id", "as_of", "account_code", "name", "debit_cents", "credit_cents"],
        )  # fmt: skip
        totals[eid("biz-", row_id)] = debit
    return totals
