"""The example "your application" database (SQLite) that the example DAGs sync from.

It stands for the user's platform: businesses, their customers, invoices across several weeks
and payments, with ``thredfi_*_id`` columns the DAGs write back (the guide's "store Thredfi IDs").
Deterministic, so the demo's report and the tests can check exact totals.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

APP_CONN_ID = "thredfi_example_app"
FIRST_DAY = dt.date(2024, 3, 1)
DAYS = 21

SCHEMA = """
CREATE TABLE IF NOT EXISTS businesses (id INTEGER PRIMARY KEY, name TEXT, email TEXT, country TEXT,
    currency TEXT, thredfi_business_id TEXT);
CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, business_id INTEGER, name TEXT, email TEXT,
    thredfi_customer_id TEXT);
CREATE TABLE IF NOT EXISTS invoices (id INTEGER PRIMARY KEY, customer_id INTEGER, number TEXT, issued_on TEXT,
    due_on TEXT, description TEXT, quantity INTEGER, unit_price_cents INTEGER, thredfi_invoice_id TEXT);
CREATE TABLE IF NOT EXISTS payments (id INTEGER PRIMARY KEY, invoice_id INTEGER, paid_on TEXT, amount_cents INTEGER,
    thredfi_payment_id TEXT);
"""


def seed(path: str) -> None:
    """Create and fill the database (idempotent: an existing, seeded file is left alone)."""
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        if db.execute("SELECT COUNT(*) FROM businesses").fetchone()[0]:
            return
        db.executemany(
            "INSERT INTO businesses (id, name, email, country, currency) VALUES (?, ?, ?, ?, ?)",
            [(1, "Northwind Studio Ltd", "books@northwind.test", "GB", "GBP"),
             (2, "Blue Harbour Cafe Ltd", "hello@blueharbour.test", "GB", "GBP")],
        )  # fmt: skip
        customers = [
            (b * 10 + n, b, f"Client {b}-{n}", f"client{b}{n}@example.test")
            for b in (1, 2)
            for n in (1, 2, 3)
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


def interval_bounds(context: Any) -> tuple[str, str]:
    """[start, end) of the run's data interval as dates; a manual run without one covers run_after's day."""
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is None or end is None or start == end:
        day = (context.get("logical_date") or context["dag_run"].run_after).date()
        return day.isoformat(), (day + dt.timedelta(days=1)).isoformat()
    return start.date().isoformat(), end.date().isoformat()
