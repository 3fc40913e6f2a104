"""Source edits, cancellations and archives reach Thredfi, or are reported as conflicts.

Run against the sandbox in its default and its strict mode.
"""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from tests.helpers import business_with_parties, held
from tests.helpers.operators import invoice, run
from thredfi_provider.operators.bills import ThredfiSyncBillPaymentsOperator, ThredfiSyncBillsOperator
from thredfi_provider.operators.businesses import ThredfiSyncBusinessesOperator
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
from thredfi_provider.operators.parties import ThredfiSyncCustomersOperator, ThredfiSyncVendorsOperator
from thredfi_provider.operators.payments import ThredfiSyncPaymentsOperator
from thredfi_provider.sandbox.config import FaultConfig

FAULTS = FaultConfig(error_rate=0.15, drop_after_commit_rate=0.2, reset_rate=0.1, seed=5)


@pytest.fixture(params=["default", "strict"])
def box(request, thredfi_sandbox_factory, fast_conn):
    """A sandbox (default or strict) with a business, two customers and a vendor."""
    sandbox = thredfi_sandbox_factory(strict=request.param == "strict")
    fast_conn(sandbox)
    return sandbox, business_with_parties(sandbox, customers=2, vendors=1)


def sync_invoices(business_id, records, **kwargs):
    summary, _ = run(
        ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=records, **kwargs)
    )
    return summary


def held_invoice(sandbox, business_id, external_id):
    return held(sandbox, "invoices", business_id, external_id)


def test_an_edit_is_applied_on_the_next_run_and_a_rerun_changes_nothing(box):
    sandbox, business_id = box
    records = [invoice(n, cents=1_000) for n in range(3)]
    assert sync_invoices(business_id, records)["created"] == 3
    records[1] = invoice(1, cents=2_500, memo="price corrected")
    summary = sync_invoices(business_id, records)
    assert (summary["created"], summary["updated"], summary["unchanged"]) == (0, 1, 2)
    assert held_invoice(sandbox, business_id, "inv-1")["total_amount_cents"] == 2_500
    again = sync_invoices(business_id, records)
    assert (again["created"], again["updated"], again["unchanged"], again["conflicts"]) == (0, 0, 3, [])
    assert again["ids"] == summary["ids"]


def test_a_changed_account_or_quantity_is_an_edit_too(box):
    _, business_id = box
    sync_invoices(business_id, [invoice(1)])
    line = {"description": "Work", "quantity": 2, "unit_price": 5_000, "account_identifier": {"code": "4000"}}
    summary = sync_invoices(business_id, [invoice(1, line_items=[line])])
    assert summary["updated"] == 1
    assert sync_invoices(business_id, [invoice(1, line_items=[line])])["unchanged"] == 1


def test_a_cancellation_voids_exactly_once_even_under_faults(box):
    sandbox, business_id = box
    sync_invoices(business_id, [invoice(n) for n in range(5)])
    cancelled = [invoice(n, status="cancelled") if n in (1, 3) else invoice(n) for n in range(5)]
    sandbox.set_faults(FAULTS)
    summary = sync_invoices(business_id, cancelled)
    sandbox.set_faults()
    assert (summary["voided"], summary["unchanged"], summary["failed"]) == (2, 3, [])
    for n in (1, 3):
        assert held_invoice(sandbox, business_id, f"inv-{n}")["status"] in ("void", "voided")
    again = sync_invoices(business_id, cancelled)
    assert (again["voided"], again["unchanged"]) == (0, 5)
    # one posting and one reversal per voided invoice: a retried void posted nothing twice
    entries = sandbox.records("journal_entries", business_id)
    for n in (1, 3):
        inv = held_invoice(sandbox, business_id, f"inv-{n}")
        mine = [
            e
            for e in entries
            if inv["id"] in str(e.get("source_reference")) or inv["id"] == e.get("source_id")
        ]
        assert len(mine) == 2, mine


def test_a_cancelled_invoice_that_never_reached_thredfi_is_not_created(box):
    sandbox, business_id = box
    summary = sync_invoices(business_id, [invoice(7, cancelled=True)])
    assert (summary["created"], summary["unchanged"]) == (0, 1)
    assert sandbox.records("invoices", business_id) == []


def _pay(business_id, n, cents):
    record = {"external_id": f"pay-{n}", "amount_cents": cents, "payment_date": "2024-03-10",
              "allocations": [{"invoice_external_id": f"inv-{n}", "amount_cents": cents}]}  # fmt: skip
    summary, _ = run(ThredfiSyncPaymentsOperator(task_id="p", business_id=business_id, records=[record]))
    return summary


@pytest.mark.parametrize("on_conflict", ["fail", "warn"])
def test_an_edit_of_a_paid_invoice_is_a_conflict_and_on_conflict_decides(box, on_conflict):
    sandbox, business_id = box
    sync_invoices(business_id, [invoice(1, cents=1_000), invoice(2, cents=1_000)])
    assert _pay(business_id, 1, 1_000)["created"] == 1
    edited = [invoice(1, cents=9_999), invoice(2, cents=1_500)]
    if on_conflict == "fail":
        with pytest.raises(AirflowFailException, match=r"inv-1.*paid"):
            sync_invoices(business_id, edited)
        # everything else landed before the task failed
        assert held_invoice(sandbox, business_id, "inv-2")["total_amount_cents"] == 1_500
        return
    summary = sync_invoices(business_id, edited, on_conflict="warn")
    assert summary["updated"] == 1
    [conflict] = summary["conflicts"]
    assert conflict["external_id"] == "inv-1"
    assert conflict["field"].startswith("line_items[0]")
    assert "paid" in conflict["reason"]
    assert held_invoice(sandbox, business_id, "inv-1")["total_amount_cents"] == 1_000


def test_cancelling_a_paid_invoice_is_a_conflict(box):
    _, business_id = box
    sync_invoices(business_id, [invoice(1, cents=1_000)])
    _pay(business_id, 1, 1_000)
    summary = sync_invoices(business_id, [invoice(1, cents=1_000, cancelled=True)], on_conflict="warn")
    assert [(c["field"], "refund" in c["reason"]) for c in summary["conflicts"]] == [("cancelled", True)]
    assert summary["voided"] == 0


def test_business_edits_are_patched_and_country_or_currency_changes_are_conflicts(box):
    sandbox, _ = box
    base = {"external_id": "shop", "legal_name": "Shop Ltd", "entity_type": "limited",
            "email": "shop@example.com", "country": "GB", "base_currency": "GBP"}  # fmt: skip

    def sync(record, **kwargs):
        return run(ThredfiSyncBusinessesOperator(task_id="b", records=[record], **kwargs))[0]

    assert sync(base)["created"] == 1
    renamed = sync(base | {"legal_name": "Shop Holdings Ltd"})
    assert renamed["updated"] == 1
    assert sync(base | {"legal_name": "Shop Holdings Ltd"})["unchanged"] == 1
    moved = sync(base | {"legal_name": "Shop Holdings Ltd", "country": "DE", "base_currency": "EUR"},
                 on_conflict="warn")  # fmt: skip
    [conflict] = moved["conflicts"]
    assert conflict["field"] in ("country", "base_currency")
    [shop] = [
        b for b in sandbox.state.store.all("businesses", sandbox.partner_id) if b["external_id"] == "shop"
    ]
    assert (shop["legal_name"], shop["country"]) == ("Shop Holdings Ltd", "GB")


def _sync_parties(business_id, records, operator=ThredfiSyncCustomersOperator):
    return run(operator(task_id="c", business_id=business_id, records=records, on_conflict="warn"))[0]


def test_a_customer_edit_is_a_conflict(box):
    _, business_id = box
    summary = _sync_parties(business_id, [{"external_id": "cust-1", "company_name": "Customer One Renamed"}])
    [conflict] = summary["conflicts"]
    assert (conflict["field"], "no update endpoint" in conflict["reason"]) == ("company_name", True)


def test_a_customer_archived_in_the_source_is_archived_once(box):
    _, business_id = box
    archived = _sync_parties(
        business_id, [{"external_id": "cust-2", "company_name": "Customer 2", "archived": True}]
    )
    assert archived["updated"] == 1
    again = _sync_parties(
        business_id, [{"external_id": "cust-2", "company_name": "Customer 2", "archived": True}]
    )
    assert again["unchanged"] == 1


def test_a_vendor_archived_in_the_source_is_a_conflict(box):
    _, business_id = box
    vendor = _sync_parties(business_id, [{"external_id": "vend-1", "company_name": "Vendor 1", "archived": True}],
                           ThredfiSyncVendorsOperator)  # fmt: skip
    assert [c["field"] for c in vendor["conflicts"]] == ["archived"]


def test_a_bill_edit_replaces_its_lines(box):
    sandbox, business_id = box
    bill = {"external_id": "bill-1", "vendor_external_id": "vend-1", "bill_date": "2024-03-02",
            "line_items": [{"description": "Hosting", "unit_price_cents": 9_900, "account_code": "6100"}]}  # fmt: skip
    run(ThredfiSyncBillsOperator(task_id="b", business_id=business_id, records=[bill]))
    bill["line_items"] = [
        {"description": "Hosting", "unit_price_cents": 9_900, "account_code": "6100"},
        {"description": "Support", "unit_price_cents": 1_100, "account_code": "6100"},
    ]
    summary, _ = run(ThredfiSyncBillsOperator(task_id="b", business_id=business_id, records=[bill]))
    assert summary["updated"] == 1
    [held] = sandbox.records("bills", business_id)
    assert len(held["line_items"]) == 2
    summary, _ = run(ThredfiSyncBillsOperator(task_id="b", business_id=business_id, records=[bill]))
    assert summary["unchanged"] == 1


PAYMENT = {"external_id": "pay-1", "amount_cents": 600, "payment_date": "2024-03-10",
           "allocations": [{"invoice_external_id": "inv-1", "amount_cents": 600}]}  # fmt: skip


def _sync_payment(business_id, record, **kwargs):
    return run(ThredfiSyncPaymentsOperator(task_id="p", business_id=business_id, records=[record],
                                           on_conflict="warn", **kwargs))[0]  # fmt: skip


def test_a_payment_reference_is_patched_once(box):
    sandbox, business_id = box
    sync_invoices(business_id, [invoice(1, cents=1_000)])
    assert _sync_payment(business_id, PAYMENT)["created"] == 1
    assert _sync_payment(business_id, PAYMENT)["unchanged"] == 1
    edited = _sync_payment(business_id, PAYMENT | {"payment_reference": "BANK-42"})
    if sandbox.config.strict:
        # The published read shows no reference: without state it cannot be proven either way
        # (with state it is PATCHed: test_payment_changes.py).
        assert edited["unverified"] == 1
        return
    assert edited["updated"] == 1
    assert _sync_payment(business_id, PAYMENT | {"payment_reference": "BANK-42"})["unchanged"] == 1


def test_a_payment_amount_change_is_a_conflict(box, tmp_path):
    # With state, so that the strict sandbox's published read (no cents) does not hide the change;
    # without it the strict case is "unverified" (test_payment_changes.py).
    _, business_id = box
    sync_invoices(business_id, [invoice(1, cents=1_000)])
    assert _sync_payment(business_id, PAYMENT, state_path=str(tmp_path))["created"] == 1
    bigger = PAYMENT | {"payment_reference": "BANK-42", "amount_cents": 700,
                        "allocations": [{"invoice_external_id": "inv-1", "amount_cents": 700}]}  # fmt: skip
    [conflict] = _sync_payment(business_id, bigger, state_path=str(tmp_path))["conflicts"]
    assert conflict["field"] in ("total_amount_cents", "allocations")
    assert "refund" in conflict["reason"]


def test_bill_payment_unchanged_on_rerun(box):
    _, business_id = box
    bill = {"external_id": "bill-1", "vendor_external_id": "vend-1", "bill_date": "2024-03-02",
            "line_items": [{"description": "Hosting", "unit_price_cents": 9_900, "account_code": "6100"}]}  # fmt: skip
    run(ThredfiSyncBillsOperator(task_id="b", business_id=business_id, records=[bill]))
    payment = {"external_id": "bp-1", "vendor_external_id": "vend-1", "amount_cents": 9_900,
               "payment_date": "2024-03-09", "allocations": [{"bill_external_id": "bill-1", "amount_cents": 9_900}]}  # fmt: skip
    first, _ = run(ThredfiSyncBillPaymentsOperator(task_id="bp", business_id=business_id, records=[payment]))
    again, _ = run(ThredfiSyncBillPaymentsOperator(task_id="bp", business_id=business_id, records=[payment]))
    assert (first["created"], again["unchanged"], again["updated"]) == (1, 1, 0)


def test_a_field_the_update_ignores_is_a_conflict_not_an_update_every_run(box):
    """The API reference's invoice PUT has no sent_at: the PUT never carries it, in either mode
    (tests/operators/test_invoice_put_fields.py), so a changed one is a conflict on every run."""
    _, business_id = box
    sync_invoices(business_id, [invoice(1, sent_at="2024-03-01")])
    moved = [invoice(1, sent_at="2024-03-02")]
    first = sync_invoices(business_id, moved, on_conflict="warn")
    again = sync_invoices(business_id, moved, on_conflict="warn")
    assert [c["field"] for c in first["conflicts"]] == ["sent_at"]
    assert [c["field"] for c in again["conflicts"]] == ["sent_at"]
    assert (first["updated"], again["updated"], again["unchanged"]) == (0, 0, 0)


def test_a_vendor_unarchived_in_the_source_is_unarchived_and_a_customer_is_a_conflict(box):
    sandbox, business_id = box
    for kind, party in (("customers", "cust-1"), ("vendors", "vend-1")):
        [held] = [p for p in sandbox.records(kind, business_id) if p["external_id"] == party]
        sandbox.state.store.put(kind, {**held, "is_archived": True, "status": "archived"})
    vendor, _ = run(ThredfiSyncVendorsOperator(task_id="v", business_id=business_id,
                                               records=[{"external_id": "vend-1", "company_name": "Vendor 1"}]))  # fmt: skip
    assert vendor["updated"] == 1
    customer, _ = run(ThredfiSyncCustomersOperator(
        task_id="c", business_id=business_id, on_conflict="warn",
        records=[{"external_id": "cust-1", "company_name": "Customer 1"}]))  # fmt: skip
    assert [c["field"] for c in customer["conflicts"]] == ["archived"]


def test_a_payment_date_change_of_a_completed_payment_is_a_conflict_not_a_failure(box, tmp_path):
    _, business_id = box
    state = {"state_path": str(tmp_path)}  # the published read shows no date: the state proves it moved
    sync_invoices(business_id, [invoice(1, cents=1_000)])
    record = {"external_id": "pay-1", "amount_cents": 600, "payment_date": "2024-03-10",
              "allocations": [{"invoice_external_id": "inv-1", "amount_cents": 600}]}  # fmt: skip
    run(ThredfiSyncPaymentsOperator(task_id="p", business_id=business_id, records=[record], **state))
    moved, _ = run(ThredfiSyncPaymentsOperator(task_id="p", business_id=business_id, on_conflict="warn",
                                               records=[record | {"payment_date": "2024-03-11"}], **state))  # fmt: skip
    assert (moved["failed"], [c["field"] for c in moved["conflicts"]]) == ([], ["payment_date"])
