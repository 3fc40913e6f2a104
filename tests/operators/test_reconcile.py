"""ThredfiReconcileOperator: drift behind the sync's back is found, in O(pages) requests."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowFailException

from tests.helpers import make_client, onboard
from tests.helpers.operators import invoice, run
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
from thredfi_provider.operators.reconcile import ThredfiReconcileOperator


@pytest.fixture(params=["default", "strict"])
def box(request, thredfi_sandbox_factory, fast_conn):
    sandbox = thredfi_sandbox_factory(strict=request.param == "strict")
    fast_conn(sandbox)
    client = make_client(sandbox)
    business_id = onboard(client, "acme")
    client.create(business_id, "customers", {"external_id": "cust-1", "company_name": "Customer 1"})
    return sandbox, client, business_id


def delete_behind_the_back(sandbox, kind: str, record: dict) -> None:
    """What no published endpoint does, but a support ticket or a bug might: the record is gone."""
    store = sandbox.state.store
    del store._tables[kind][record["id"]]
    store._by_business[kind, record["business_id"]].remove(record["id"])
    store._external = {k: v for k, v in store._external.items() if v != record["id"]}
    store._query_cache.clear()


def reconcile(business_id, records, **kwargs):
    return run(
        ThredfiReconcileOperator(
            task_id="r", resource="invoice", business_id=business_id, records=records, **kwargs
        )
    )[0]


def test_a_synced_source_reconciles_clean(box):
    _, _, business_id = box
    records = [invoice(n, cents=1_000 + n) for n in range(5)]
    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=records))
    report = reconcile(business_id, records, fail_on_drift=True)
    assert report["clean"]
    mine = report["businesses"][business_id]
    assert mine["counts"] == {"source": 5, "thredfi": 5}
    assert mine["totals"] == {"GBP": {"source": 5_010, "thredfi": 5_010}}


def test_deleted_extra_and_changed_records_are_each_reported(box, tmp_path):
    sandbox, client, business_id = box
    records = [invoice(n, cents=1_000) for n in range(6)]
    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=records))
    held = {r["external_id"]: r for r in sandbox.records("invoices", business_id)}
    delete_behind_the_back(sandbox, "invoices", held["inv-2"])
    extra = invoice(99, cents=500)
    run(ThredfiSyncInvoicesOperator(task_id="x", business_id=business_id, records=[extra]))
    edited = {**held["inv-4"]}
    line = dict(edited["line_items"][0], unit_price=1_234)
    client.update(business_id, "invoices", edited["id"], {
        "customer_id": edited["customer_id"], "line_items": [
            {"quantity": 1, "unit_price": 1_234, "description": "Work",
             "account_identifier": line["account_identifier"]}]}, method="PUT")  # fmt: skip
    path = tmp_path / "reports" / "drift.json"
    with pytest.raises(AirflowFailException, match="drift"):
        reconcile(business_id, records, fail_on_drift=True, report_path=str(path))
    report = reconcile(business_id, records)
    mine = report["businesses"][business_id]
    assert mine["missing"] == ["inv-2"]
    assert [e["external_id"] for e in mine["extra"]] == ["inv-99"]
    [differs] = mine["differs"]
    assert differs["external_id"] == "inv-4"
    assert differs["fields"] == {"line_items[0].unit_price": {"thredfi": 1_234, "source": 1_000}}
    assert (report["clean"], report["summary"]["missing"], report["summary"]["extra"]) == (False, 1, 1)
    written = json.loads(path.read_text())
    assert written["businesses"][business_id]["missing"] == ["inv-2"]


def test_the_window_keeps_older_records_from_counting_as_extra(box):
    _, _, business_id = box
    march = [invoice(n, sent_at="2024-03-05") for n in range(3)]
    april = [invoice(n, sent_at="2024-04-05") for n in range(3, 5)]
    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=march + april))
    report = reconcile(business_id, april, window_start="2024-04-01", window_end="2024-05-01")
    assert report["clean"], report["summary"]
    assert report["businesses"][business_id]["counts"] == {"source": 2, "thredfi": 2}


def test_a_thousand_record_drift_check_costs_pages_not_records(box):
    sandbox, _, business_id = box
    records = [invoice(n, cents=100 + n) for n in range(1_000)]
    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=records, max_workers=8))

    def api_requests() -> int:
        counters = sandbox.state.counters
        return counters["requests"] - counters["partner_token"] - counters["business_token"]

    before = api_requests()
    report = reconcile(business_id, records)
    cost = api_requests() - before
    assert report["clean"], report["summary"]
    assert cost <= 1_000 / 100 + 1 * 3, cost


def test_payments_the_published_read_cannot_name_are_unverifiable_not_missing(box):
    """The strict sandbox answers payment reads in the published shape, with no external_id: a
    reconcile must not call the payments it synced missing, nor call the check complete."""
    from thredfi_provider.operators.payments import ThredfiSyncPaymentsOperator

    sandbox, _, business_id = box
    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=[invoice(1, cents=5_000)]))
    payments = [{"external_id": "pay-1", "amount_cents": 5_000, "payment_date": "2024-03-10",
                 "allocations": [{"invoice_external_id": "inv-1", "amount_cents": 5_000}]}]  # fmt: skip
    run(ThredfiSyncPaymentsOperator(task_id="p", business_id=business_id, records=payments))
    report = run(ThredfiReconcileOperator(task_id="r", resource="payment", business_id=business_id,
                                          records=payments))[0]  # fmt: skip
    mine = report["businesses"][business_id]
    assert mine["missing"] == []
    if sandbox.config.strict:
        assert mine["unverifiable"] == ["pay-1"]
        assert report["clean"]
        assert not report["complete"]
    else:
        assert mine["unverifiable"] == []
        assert report["complete"]


def test_every_reconcilable_resource_shares_the_rendering_of_the_sync_operator_that_writes_it():
    """RECONCILABLE names the resources; _sync_class finds their operators: the two must agree."""
    from thredfi_provider.client.models import MODELS
    from thredfi_provider.operators.reconcile import RECONCILABLE

    assert set(RECONCILABLE) == set(MODELS), "every synced resource, and only those"
    for resource in RECONCILABLE:
        sync = ThredfiReconcileOperator(task_id=f"r_{resource}", resource=resource, records=[])._sync_class()
        assert sync.resource.name == resource
        assert sync.__name__.startswith("ThredfiSync")
