"""Every operator against the sandbox: success, idempotent rerun, bad records, permissions, faults."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from tests.helpers.operators import invoice, run
from thredfi_provider.hooks.task_state import ThredfiBatchError
from thredfi_provider.operators.bills import ThredfiRecordBillPaymentsOperator, ThredfiSyncBillsOperator
from thredfi_provider.operators.businesses import ThredfiOnboardBusinessOperator
from thredfi_provider.operators.generic import ThredfiOperator
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
from thredfi_provider.operators.ledger import ThredfiExportLedgerOperator
from thredfi_provider.operators.parties import ThredfiUpsertCustomersOperator, ThredfiUpsertVendorsOperator
from thredfi_provider.operators.payments import ThredfiRecordPaymentsOperator

# These tests exercise the deprecated names on purpose (tests/operators/test_deprecations.py checks
# each warns); elsewhere the provider's deprecation warnings are errors (pyproject.toml).
pytestmark = pytest.mark.filterwarnings(
    "ignore:Thredfi.* is deprecated and will be removed in:DeprecationWarning"
)

BUSINESS = {
    "legal_name": "Shop Ltd",
    "entity_type": "limited",
    "email": "shop@example.com",
    "base_currency": "GBP",
}


# ---------------------------------------------------------------- businesses and parties


def test_onboard_one_then_many_and_rerun_finds_existing(thredfi_sandbox, thredfi_conn_id):
    ids, ti = run(ThredfiOnboardBusinessOperator(task_id="one", business={"external_id": "b1", **BUSINESS}))
    assert list(ids) == ["b1"]
    assert ti.xcom["summary"]["created"] == 1
    records = [{"external_id": f"b{n}", **BUSINESS} for n in (1, 2, 3)]
    ids2, ti2 = run(ThredfiOnboardBusinessOperator(task_id="many", records=records))
    assert ids2["b1"] == ids["b1"]
    assert (ti2.xcom["summary"]["created"], ti2.xcom["summary"]["unchanged"]) == (2, 1)
    assert len(thredfi_sandbox.records("businesses", thredfi_sandbox.partner_id)) == 3


def test_onboard_rejects_a_bad_business_by_field_and_keeps_the_good(thredfi_sandbox, thredfi_conn_id):
    records = [{"external_id": "ok", **BUSINESS}, {"external_id": "bad", **BUSINESS, "email": "nope"}]
    op = ThredfiOnboardBusinessOperator(task_id="o", records=records, max_failures=1)
    ids, ti = run(op)
    assert list(ids) == ["ok"]
    [failure] = ti.xcom["summary"]["failed"]
    assert failure["external_id"] == "bad"
    assert failure["field"] == "email"


def test_upsert_customers_is_idempotent(thredfi_sandbox, thredfi_conn_id, seeded):
    customers = [{"external_id": f"c-{n}", "company_name": f"C{n}"} for n in range(5)]
    first, _ = run(ThredfiUpsertCustomersOperator(task_id="c", business_id=seeded, records=customers))
    again, ti = run(ThredfiUpsertCustomersOperator(task_id="c", business_id=seeded, records=customers))
    assert first == again
    assert len(first) == 5
    assert ti.xcom["summary"]["unchanged"] == 5
    assert len(thredfi_sandbox.records("customers", seeded)) == 2 + 5


def test_upsert_vendors_takes_an_individual_name(thredfi_sandbox, thredfi_conn_id, seeded):
    vendors, _ = run(
        ThredfiUpsertVendorsOperator(
            task_id="v", business_id=seeded, records=[{"external_id": "v", "individual_name": "Vi"}]
        )
    )
    assert list(vendors) == ["v"]


# ---------------------------------------------------------------- invoices


def test_sync_invoices_creates_then_rerun_creates_nothing(thredfi_sandbox, thredfi_conn_id, seeded):
    records = [invoice(n) for n in range(20)]
    summary, _ = run(ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=records))
    assert (summary["created"], summary["unchanged"], summary["failed"]) == (20, 0, [])
    again, _ = run(ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=records))
    assert (again["created"], again["unchanged"]) == (0, 20)
    assert again["ids"] == summary["ids"]
    assert len(thredfi_sandbox.records("invoices", seeded)) == 20


BAD_INVOICES = [
    (invoice(101, cents=10.5), "line_items[0].unit_price_cents"),
    (invoice(102, cents="100"), "line_items[0].unit_price_cents"),
    (invoice(103, sent_at="2024-02-31"), "sent_at"),
    (invoice(104, customer_external_id="ghost"), "customer_external_id"),
    (invoice(105, currency="USD"), "currency"),
    ({**invoice(106), "line_items": []}, "line_items"),
    ({k: v for k, v in invoice(107).items() if k != "customer_external_id"}, "record"),
    (invoice(108, ammount=1), "ammount"),
    (invoice(0), "external_id"),  # duplicate of a good record below
]


def test_bad_invoices_are_named_and_good_ones_still_land(thredfi_sandbox, thredfi_conn_id, seeded):
    good = [invoice(n) for n in range(3)]
    records = good[:1] + [bad for bad, _ in BAD_INVOICES] + good[1:]
    op = ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=records)
    with pytest.raises(AirflowFailException) as info:
        run(op)
    assert "9 of 12 invoices failed" in str(info.value)
    summary, _ = run(
        ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=records, max_failures=9)
    )
    assert summary["unchanged"] == 3
    failed = {f["external_id"]: f for f in summary["failed"]}
    assert len(failed) == len(BAD_INVOICES)
    for bad, field in BAD_INVOICES:
        entry = failed[bad["external_id"]]
        assert entry["field"] == field, entry
        assert f"record {bad['external_id']!r}" in entry["error"]
    assert len(thredfi_sandbox.records("invoices", seeded)) == 3


def test_a_callable_that_raises_type_error_runs_once(thredfi_sandbox, thredfi_conn_id, seeded):
    calls: list[object] = []

    def broken(context):
        calls.append(context)
        raise TypeError("a bug inside the user's own callable")

    with pytest.raises(TypeError, match="a bug inside"):
        run(ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=broken))
    assert len(calls) == 1


def test_a_callable_gets_what_its_signature_asks_for(thredfi_sandbox, thredfi_conn_id, seeded):
    seen: dict[str, object] = {}

    def by_key(ti, dag_run):
        seen.update(ti=ti, dag_run=dag_run)
        return [invoice(3)]

    summary, ti = run(ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=by_key))
    assert summary["created"] == 1
    assert seen["ti"] is ti
    summary, _ = run(
        ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=lambda: [invoice(4)])
    )
    assert summary["created"] == 1


@pytest.mark.parametrize("bad_id", ["b1?x=", "../../oauth2/token/x", "a/b"])
def test_a_business_id_that_would_rewrite_the_url_fails_its_record(thredfi_sandbox, thredfi_conn_id, bad_id):
    before = thredfi_sandbox.counter("requests")
    summary, _ = run(
        ThredfiSyncInvoicesOperator(
            task_id="s", records=[invoice(1, business_id=bad_id)], fail_on_error=False
        )
    )
    assert [(f["external_id"], f["field"]) for f in summary["failed"]] == [("inv-1", "business_id")]
    assert thredfi_sandbox.counter("requests") == before


def test_records_can_come_from_a_callable_or_json(thredfi_sandbox, thredfi_conn_id, seeded):
    summary, _ = run(
        ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=lambda context: [invoice(1)])
    )
    assert summary["created"] == 1
    summary, _ = run(
        ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=json.dumps([invoice(2)]))
    )
    assert summary["created"] == 1


def test_many_businesses_in_one_task_and_a_foreign_business_is_refused(
    thredfi_sandbox, thredfi_conn_id, seeded
):
    ids, _ = run(ThredfiOnboardBusinessOperator(task_id="o", business={"external_id": "other", **BUSINESS}))
    other = ids["other"]
    run(
        ThredfiUpsertCustomersOperator(
            task_id="c", business_id=other, records=[{"external_id": "cust-1", "company_name": "X"}]
        )
    )
    records = [
        {**invoice(1), "business_id": seeded},
        {**invoice(1), "business_id": other},
        {**invoice(2), "business_id": "00000000-0000-0000-0000-00000000dead"},
    ]
    summary, _ = run(ThredfiSyncInvoicesOperator(task_id="s", records=records, max_failures=1))
    assert summary["created"] == 2
    [failure] = summary["failed"]
    assert failure["status"] == 404
    assert failure["retryable"] is False
    assert (
        len(thredfi_sandbox.records("invoices", seeded))
        == len(thredfi_sandbox.records("invoices", other))
        == 1
    )


def test_transient_failures_left_over_make_the_task_retryable(thredfi_sandbox, seeded, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_THREDFI_DEFAULT", thredfi_sandbox.connection_uri() + "&max_retries=0")
    thredfi_sandbox.set_faults(error_rate=1.0, include_token_endpoints=False)
    with pytest.raises(ThredfiBatchError):
        run(ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=[invoice(1)]))
    thredfi_sandbox.set_faults()


# ---------------------------------------------------------------- payments


def test_payments_with_deterministic_keys_and_no_double_pay(thredfi_sandbox, thredfi_conn_id, seeded):
    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=[invoice(1), invoice(2)]))
    payments = [
        {"external_id": "pay-1", "amount_cents": 10_000, "payment_date": "2024-03-10",
         "allocations": [{"invoice_external_id": "inv-1", "amount_cents": 10_000}]},
        {"external_id": "pay-2", "amount_cents": 4_000, "payment_date": "2024-03-11",
         "allocations": [{"invoice_external_id": "inv-2", "amount_cents": 4_000}]},
    ]  # fmt: skip
    summary, _ = run(ThredfiRecordPaymentsOperator(task_id="p", business_id=seeded, records=payments))
    assert summary["created"] == 2
    again, _ = run(ThredfiRecordPaymentsOperator(task_id="p", business_id=seeded, records=payments))
    assert (again["created"], again["unchanged"]) == (0, 2)
    assert len(thredfi_sandbox.records("payments", seeded)) == 2
    statuses = {i["external_id"]: i["status"] for i in thredfi_sandbox.records("invoices", seeded)}
    assert statuses == {"inv-1": "paid", "inv-2": "partially_paid"}


def test_bad_payments_are_refused_by_field(thredfi_sandbox, thredfi_conn_id, seeded):
    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=[invoice(1, cents=500)]))
    bad = [
        {"external_id": "p-over", "amount_cents": 100, "payment_date": "2024-03-10",
         "allocations": [{"invoice_external_id": "inv-1", "amount_cents": 200}]},
        {"external_id": "p-unknown", "amount_cents": 100, "payment_date": "2024-03-10",
         "allocations": [{"invoice_external_id": "inv-404", "amount_cents": 100}]},
        {"external_id": "p-exceeds-invoice", "amount_cents": 900, "payment_date": "2024-03-10",
         "allocations": [{"invoice_external_id": "inv-1", "amount_cents": 900}]},
        {"external_id": "p-neg", "amount_cents": -5, "payment_date": "2024-03-10"},
    ]  # fmt: skip
    summary, _ = run(
        ThredfiRecordPaymentsOperator(task_id="p", business_id=seeded, records=bad, fail_on_error=False)
    )
    fields = {f["external_id"]: f.get("field") for f in summary["failed"]}
    assert fields["p-over"] == "record"
    assert fields["p-unknown"] == "allocations[0]"
    assert fields["p-neg"] == "amount_cents"
    assert (
        "allocations.0.amount_cents"
        in next(f for f in summary["failed"] if f["external_id"] == "p-exceeds-invoice")["error"]
    )
    assert thredfi_sandbox.records("payments", seeded) == []


# ---------------------------------------------------------------- bills


def test_bills_and_bill_payments(thredfi_sandbox, thredfi_conn_id, seeded):
    bills = [{"external_id": "bill-1", "vendor_external_id": "vend-1", "bill_date": "2024-03-02",
              "line_items": [{"description": "Hosting", "unit_price_cents": 9_900, "account_code": "6100"}]}]  # fmt: skip
    created, _ = run(ThredfiSyncBillsOperator(task_id="b", business_id=seeded, records=bills))
    assert created["created"] == 1
    pays = [{"external_id": "bp-1", "vendor_external_id": "vend-1", "amount_cents": 9_900, "payment_date": "2024-03-09",
             "allocations": [{"bill_external_id": "bill-1", "amount_cents": 9_900}]}]  # fmt: skip
    paid, _ = run(ThredfiRecordBillPaymentsOperator(task_id="bp", business_id=seeded, records=pays))
    again, _ = run(ThredfiRecordBillPaymentsOperator(task_id="bp", business_id=seeded, records=pays))
    assert (paid["created"], again["unchanged"]) == (1, 1)
    assert thredfi_sandbox.records("bills", seeded)[0]["status"] == "paid"
    assert len(thredfi_sandbox.records("bill_payments", seeded)) == 1


# ---------------------------------------------------------------- ledger export and generic


def test_export_ledger_streams_the_interval_and_rerun_rewrites(
    thredfi_sandbox, thredfi_conn_id, seeded, tmp_path
):
    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=[
        invoice(1, sent_at="2024-03-01"), invoice(2, sent_at="2024-03-02"), invoice(3, sent_at="2024-03-03"),
    ]))  # fmt: skip
    path = str(tmp_path / "ledger" / "2024-03-02.jsonl")
    context = {
        "data_interval_start": dt.datetime(2024, 3, 2, tzinfo=dt.UTC),
        "data_interval_end": dt.datetime(2024, 3, 3, tzinfo=dt.UTC),
    }
    op = ThredfiExportLedgerOperator(task_id="x", business_id=seeded, path=path, reports=["profit-and-loss"])
    result, _ = run(op, **context)
    assert (result["entries"], result["rows"]) == (1, 2)
    assert (result["date_from"], result["date_to"]) == ("2024-03-02", "2024-03-02")
    rows = [json.loads(line) for line in Path(path).read_text().splitlines()]
    assert {r["account_code"] for r in rows} == {"1100", "4000"}
    assert sum(r["debit_amount"] for r in rows) == sum(r["credit_amount"] for r in rows) == 10_000
    again, _ = run(op, **context)
    assert again["rows"] == 2
    assert len(Path(path).read_text().splitlines()) == 2
    report = json.loads(Path(path + ".profit-and-loss.json").read_text())
    assert report["summary"]["net_revenue_cents"] == 10_000


def test_generic_operator_calls_a_partner_endpoint(thredfi_sandbox, thredfi_conn_id, seeded):
    body, _ = run(ThredfiOperator(task_id="g", method="GET", path=f"businesses/{seeded}/", business_id=None))
    assert body["id"] == seeded


def test_generic_operator_reads_every_page_of_a_business_endpoint(thredfi_sandbox, thredfi_conn_id, seeded):
    customers, _ = run(
        ThredfiOperator(
            task_id="g", path=f"businesses/{seeded}/customers/", business_id=seeded, paginate=True
        )
    )
    assert len(customers) == 2


def test_generic_operator_fails_the_task_on_a_404(thredfi_sandbox, thredfi_conn_id, seeded):
    with pytest.raises(AirflowFailException):
        run(ThredfiOperator(task_id="g", path=f"businesses/{seeded}/invoices/nope/", business_id=seeded))
