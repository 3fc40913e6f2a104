"""The source platform of the distributed run: many businesses in PostgreSQL, read by every worker.

``scripts/distributed.py`` seeds it (``seed``) and checks Thredfi against it (``expected``); the
DAGs in ``thredfi_scale_dags.py`` read it through the ``thredfi_scale_source`` Airflow connection
(a PostgreSQL database, so two Celery workers, on one machine or on many, read the same rows).

Two parts, both deterministic so the check is exact:

* history: ``invoices_per_business`` invoices per business, issued in the weeks before the daily
  window and paid (two in three, every other one in two parts) before it opens; the bulk DAG
  syncs them with one mapped task group instance per chunk of businesses.
* daily: for the first ``daily_businesses`` businesses, ``daily_per_business`` invoices per
  business per day inside the window ``[window_start, window_end)``, paid a few days later; the
  daily DAG syncs each day, and a backfill replays the window. Payments falling after the
  window end are never synced.

External ids carry a ``scale-`` prefix so they never meet the example DAGs' records.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from typing import Any

SOURCE_CONN_ID = "thredfi_scale_source"
CUSTOMERS_PER_BUSINESS = 5
HISTORY_DAYS = 60  # history invoices are issued in [window_start - 60 d, window_start - 8 d)
PREFIX = "scale-"

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS businesses (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
    country TEXT NOT NULL, currency TEXT NOT NULL, thredfi_business_id TEXT);
CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, business_id INTEGER NOT NULL REFERENCES businesses,
    name TEXT NOT NULL, email TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS invoices (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers,
    business_id INTEGER NOT NULL REFERENCES businesses, part TEXT NOT NULL, number TEXT NOT NULL,
    issued_on DATE NOT NULL, due_on DATE NOT NULL, quantity INTEGER NOT NULL, unit_price_cents INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS payments (id INTEGER PRIMARY KEY, invoice_id INTEGER NOT NULL REFERENCES invoices,
    business_id INTEGER NOT NULL REFERENCES businesses, part TEXT NOT NULL, paid_on DATE NOT NULL,
    amount_cents INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS invoices_business ON invoices (business_id, issued_on);
CREATE INDEX IF NOT EXISTS payments_business ON payments (business_id, paid_on);
"""


def connect(dsn: str | None = None) -> Any:
    """A psycopg2 connection: to ``dsn``, or (inside a task) to the ``thredfi_scale_source`` connection."""
    import psycopg2

    if dsn is not None:
        return psycopg2.connect(dsn)
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(SOURCE_CONN_ID)
    return psycopg2.connect(
        host=conn.host, port=conn.port, user=conn.login, password=conn.password, dbname=conn.schema
    )


def _rows(sql: str, params: Sequence[Any] = (), dsn: str | None = None) -> list[tuple[Any, ...]]:
    db = connect(dsn)
    try:
        with db, db.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())
    finally:
        db.close()


# ---------------------------------------------------------------------------- seeding


def seed(
    dsn: str,
    *,
    businesses: int,
    invoices_per_business: int,
    daily_per_business: int,
    daily_businesses: int,
    window_start: dt.date,
    window_end: dt.date,
) -> dict[str, int]:
    """Create and fill the source database (replacing what was there); returns row counts."""
    from psycopg2.extras import execute_values

    db = connect(dsn)
    try:
        with db, db.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS payments, invoices, customers, businesses, settings")
            cur.execute(SCHEMA)
            cur.executemany(
                "INSERT INTO settings (name, value) VALUES (%s, %s)",
                [("window_start", window_start.isoformat()), ("window_end", window_end.isoformat())],
            )
            execute_values(
                cur,
                "INSERT INTO businesses (id, name, email, country, currency) VALUES %s",
                [
                    (b, f"Scale Business {b:04d} Ltd", f"books{b}@scale.test", "GB", "GBP")
                    for b in _ids(businesses)
                ],
            )
            execute_values(
                cur,
                "INSERT INTO customers (id, business_id, name, email) VALUES %s",
                [
                    (_customer_id(b, n), b, f"Client {b}-{n}", f"client{b}-{n}@scale.test")
                    for b in _ids(businesses)
                    for n in range(CUSTOMERS_PER_BUSINESS)
                ],
            )
            invoices: list[tuple[Any, ...]] = []
            payments: list[tuple[Any, ...]] = []
            history_span = HISTORY_DAYS - 8
            for b in _ids(businesses):
                for n in range(invoices_per_business):
                    issued = (
                        window_start - dt.timedelta(days=HISTORY_DAYS) + dt.timedelta(days=n % history_span)
                    )
                    _invoice(invoices, payments, b, n, "history", issued)
                days = (window_end - window_start).days if b <= daily_businesses else 0
                for day in range(days):
                    for k in range(daily_per_business):
                        issued = window_start + dt.timedelta(days=day)
                        _invoice(invoices, payments, b, invoices_per_business + day * daily_per_business + k,
                                 "daily", issued)  # fmt: skip
            execute_values(
                cur,
                "INSERT INTO invoices (id, customer_id, business_id, part, number, issued_on, due_on, quantity,"
                " unit_price_cents) VALUES %s",
                invoices,
                page_size=5000,
            )
            execute_values(
                cur,
                "INSERT INTO payments (id, invoice_id, business_id, part, paid_on, amount_cents) VALUES %s",
                [(i + 1, *p) for i, p in enumerate(payments)],
                page_size=5000,
            )
        return {"businesses": businesses, "customers": businesses * CUSTOMERS_PER_BUSINESS,
                "invoices": len(invoices), "payments": len(payments)}  # fmt: skip
    finally:
        db.close()


def _ids(businesses: int) -> range:
    return range(1, businesses + 1)


def _customer_id(business: int, n: int) -> int:
    return business * 100 + n


def _invoice(
    invoices: list[tuple[Any, ...]],
    payments: list[tuple[Any, ...]],
    b: int,
    n: int,
    part: str,
    issued: dt.date,
) -> None:
    """One invoice (``n``-th of business ``b``) and its payments: two in three are paid, 1-4 days
    after issue, every other one of those in two parts two days apart."""
    invoice_id = b * 100_000 + n
    cents = 5_000 + (invoice_id * 1_237) % 20_000
    quantity = 1 + invoice_id % 3
    invoices.append((invoice_id, _customer_id(b, n % CUSTOMERS_PER_BUSINESS), b, part, f"INV-{b}-{n:05d}",
                     issued, issued + dt.timedelta(days=30), quantity, cents))  # fmt: skip
    if not invoice_id % 3:
        return
    total = quantity * cents
    paid_on = issued + dt.timedelta(days=1 + invoice_id % 4)
    if invoice_id % 2:
        payments.append((invoice_id, b, part, paid_on, total))
    else:
        payments.append((invoice_id, b, part, paid_on, total // 2))
        payments.append((invoice_id, b, part, paid_on + dt.timedelta(days=2), total - total // 2))


# ---------------------------------------------------------------------------- reading (tasks)


def window() -> tuple[dt.date, dt.date]:
    """The daily part's ``[start, end)``, as seeded."""
    values = dict(_rows("SELECT name, value FROM settings"))
    return dt.date.fromisoformat(values["window_start"]), dt.date.fromisoformat(values["window_end"])


def chunks(size: int, count: int | None = None, part: str | None = None) -> list[list[int]]:
    """Source business ids (those with invoices of ``part``, if given) split into chunks of
    ``size``, or into ``count`` near-equal chunks."""
    if part is None:
        ids = [r[0] for r in _rows("SELECT id FROM businesses ORDER BY id")]
    else:
        ids = [
            r[0]
            for r in _rows("SELECT DISTINCT business_id FROM invoices WHERE part = %s ORDER BY 1", (part,))
        ]
    if count is not None:
        count = max(1, min(count, len(ids)))
        return [ids[i::count] for i in range(count)]
    return [ids[i : i + size] for i in range(0, len(ids), max(1, size))]


def business_records(business_ids: Iterable[int]) -> list[dict[str, Any]]:
    rows = _rows(
        "SELECT id, name, email, country, currency FROM businesses WHERE id = ANY(%s) ORDER BY id",
        (list(business_ids),),
    )
    return [
        {"external_id": f"{PREFIX}biz-{r[0]}", "legal_name": r[1], "email": r[2], "entity_type": "limited",
         "country": r[3], "base_currency": r[4]}
        for r in rows
    ]  # fmt: skip


def store_business_ids(ids: dict[str, str]) -> int:
    """Write Thredfi business ids back next to the source rows (``{"scale-biz-7": "<uuid>"}``)."""
    db = connect()
    try:
        with db, db.cursor() as cur:
            cur.executemany(
                "UPDATE businesses SET thredfi_business_id = %s WHERE id = %s",
                [(thredfi_id, int(ext.removeprefix(f"{PREFIX}biz-"))) for ext, thredfi_id in ids.items()],
            )
        return len(ids)
    finally:
        db.close()


def thredfi_business_ids(business_ids: Iterable[int]) -> dict[int, str]:
    rows = _rows(
        "SELECT id, thredfi_business_id FROM businesses WHERE id = ANY(%s) AND thredfi_business_id IS NOT NULL",
        (list(business_ids),),
    )
    return {int(r[0]): str(r[1]) for r in rows}


def customer_records(business_ids: Iterable[int]) -> list[dict[str, Any]]:
    thredfi = thredfi_business_ids(business_ids)
    rows = _rows(
        "SELECT id, business_id, name, email FROM customers WHERE business_id = ANY(%s) ORDER BY id",
        (list(thredfi),),
    )
    return [
        {
            "external_id": f"{PREFIX}cust-{r[0]}",
            "business_id": thredfi[r[1]],
            "company_name": r[2],
            "email": r[3],
        }
        for r in rows
    ]


_INVOICE_COLUMNS = (
    "i.id, i.customer_id, i.business_id, i.number, i.issued_on, i.due_on, i.quantity, i.unit_price_cents"
)


def invoice_records(
    business_ids: Iterable[int], *, part: str | None = None, start: str | None = None, end: str | None = None
) -> list[dict[str, Any]]:
    """Invoices of these businesses: one part, or those issued in ``[start, end)`` together with
    every invoice that a payment in ``[start, end)`` settles (so the payments always find theirs)."""
    thredfi = thredfi_business_ids(business_ids)
    if part is not None:
        rows = _rows(
            f"SELECT {_INVOICE_COLUMNS} FROM invoices i WHERE i.business_id = ANY(%s) AND i.part = %s"
            " ORDER BY i.id",
            (list(thredfi), part),
        )
    else:
        rows = _rows(
            f"SELECT {_INVOICE_COLUMNS} FROM invoices i WHERE i.business_id = ANY(%s) AND ("
            " (i.issued_on >= %s AND i.issued_on < %s) OR i.id IN (SELECT p.invoice_id FROM payments p"
            " WHERE p.business_id = ANY(%s) AND p.paid_on >= %s AND p.paid_on < %s)) ORDER BY i.id",
            (list(thredfi), start, end, list(thredfi), start, end),
        )
    return [
        {"external_id": f"{PREFIX}inv-{r[0]}", "business_id": thredfi[r[2]],
         "customer_external_id": f"{PREFIX}cust-{r[1]}", "invoice_number": r[3], "sent_at": r[4].isoformat(),
         "due_at": r[5].isoformat(),
         "line_items": [{"description": "Services", "quantity": r[6], "unit_price_cents": r[7], "account_code": "4000"}]}
        for r in rows
    ]  # fmt: skip


def payment_records(
    business_ids: Iterable[int], *, part: str | None = None, start: str | None = None, end: str | None = None
) -> list[dict[str, Any]]:
    thredfi = thredfi_business_ids(business_ids)
    if part is not None:
        where, params = "p.part = %s", [part]
    else:
        where, params = "p.paid_on >= %s AND p.paid_on < %s", [start, end]
    rows = _rows(
        "SELECT p.id, p.invoice_id, p.business_id, p.paid_on, p.amount_cents FROM payments p"
        f" WHERE p.business_id = ANY(%s) AND {where} ORDER BY p.id",
        (list(thredfi), *params),
    )
    return [
        {"external_id": f"{PREFIX}pay-{r[0]}", "business_id": thredfi[r[2]], "amount_cents": r[4],
         "payment_date": r[3].isoformat(),
         "allocations": [{"invoice_external_id": f"{PREFIX}inv-{r[1]}", "amount_cents": r[4]}]}
        for r in rows
    ]  # fmt: skip


# ---------------------------------------------------------------------------- what Thredfi must hold


def expected(dsn: str) -> dict[str, dict[str, dict[str, int]]]:
    """Per Thredfi business id: ``{"invoices": {external_id: cents}, "payments": {...}}`` of every
    record that the bulk DAG and the daily runs up to the window's end must have synced."""
    _start, end = window_of(dsn)
    out: dict[str, dict[str, dict[str, int]]] = {}
    for bid, ext, cents in _rows(
        "SELECT b.thredfi_business_id, i.id, i.quantity * i.unit_price_cents FROM invoices i"
        " JOIN businesses b ON b.id = i.business_id WHERE i.part = 'history' OR i.issued_on < %s"
        " OR i.id IN (SELECT invoice_id FROM payments WHERE paid_on < %s)",
        (end, end),
        dsn,
    ):
        out.setdefault(str(bid), {"invoices": {}, "payments": {}})["invoices"][f"{PREFIX}inv-{ext}"] = int(
            cents
        )
    for bid, ext, cents in _rows(
        "SELECT b.thredfi_business_id, p.id, p.amount_cents FROM payments p JOIN businesses b"
        " ON b.id = p.business_id WHERE p.part = 'history' OR p.paid_on < %s",
        (end,),
        dsn,
    ):
        out.setdefault(str(bid), {"invoices": {}, "payments": {}})["payments"][f"{PREFIX}pay-{ext}"] = int(
            cents
        )
    return out


def window_of(dsn: str) -> tuple[dt.date, dt.date]:
    values = dict(_rows("SELECT name, value FROM settings", (), dsn))
    return dt.date.fromisoformat(values["window_start"]), dt.date.fromisoformat(values["window_end"])


def env_int(name: str, default: int) -> int:
    """A knob the orchestrator passes to every component through the environment."""
    return int(os.environ.get(name, default))
