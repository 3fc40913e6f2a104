"""A payment edited in the source is never reported ``unchanged``.

The published payment read (InvoicePaymentList, and so the strict sandbox's reads and its replay
of a known ``external_id``) carries ``total_amount`` and allocations' ``amount`` with no published
unit, and no reference, date or note. Without state such fields cannot be proven equal, so an
edit there is ``unverified``; with ``state_path`` the stored digests prove what changed, so an
amount edit of a completed payment is a conflict and a reference edit is PATCHed.
"""

from __future__ import annotations

import pytest

from tests.helpers import make_client, onboard
from tests.helpers.operators import invoice, run
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
from thredfi_provider.operators.payments import ThredfiSyncPaymentsOperator


@pytest.fixture(params=["default", "strict"])
def paid(request, thredfi_sandbox_factory, fast_conn):
    sandbox = thredfi_sandbox_factory(strict=request.param == "strict")
    fast_conn(sandbox)
    client = make_client(sandbox)
    business_id = onboard(client, "payer")
    client.create(business_id, "customers", {"external_id": "cust-1", "company_name": "Customer 1"})
    run(ThredfiSyncInvoicesOperator(task_id="i", business_id=business_id, records=[invoice(1, cents=5_000)]))
    return sandbox, business_id


def payment(**overrides):
    record = {"external_id": "pay-1", "amount_cents": 3_000, "payment_date": "2024-03-10",
              "payment_reference": "REF-1", "allocations": [{"invoice_external_id": "inv-1", "amount_cents": 3_000}]}  # fmt: skip
    record.update(overrides)
    return record


def sync(business_id, records, **kwargs):
    return run(ThredfiSyncPaymentsOperator(task_id="p", business_id=business_id, records=records, **kwargs))[
        0
    ]


def stored(sandbox, business_id):
    [found] = sandbox.records("payments", business_id)
    return found


def test_an_amount_edit_without_state_is_never_unchanged(paid):
    sandbox, business_id = paid
    sync(business_id, [payment()])
    summary = sync(business_id, [payment(amount_cents=2_000, allocations=[
        {"invoice_external_id": "inv-1", "amount_cents": 2_000}])], on_conflict="warn")  # fmt: skip
    assert summary["unchanged"] == 0
    if sandbox.config.strict:  # the published shape shows no cents: not proven either way
        assert summary["unverified"] == 1
    else:
        assert [c["field"] for c in summary["conflicts"]] == ["total_amount_cents"]
    assert stored(sandbox, business_id)["total_amount_cents"] == 3_000  # settled money stays


def test_with_state_an_amount_edit_of_a_completed_payment_is_a_conflict(paid, tmp_path):
    _sandbox, business_id = paid
    sync(business_id, [payment()], state_path=str(tmp_path))
    edited = payment(
        amount_cents=2_000, allocations=[{"invoice_external_id": "inv-1", "amount_cents": 2_000}]
    )
    summary = sync(business_id, [edited], state_path=str(tmp_path), on_conflict="warn")
    assert summary["conflicts"][0]["field"] in ("total_amount_cents", "allocations")
    assert "refund" in summary["conflicts"][0]["reason"]
    again = sync(business_id, [edited], state_path=str(tmp_path), on_conflict="warn")
    assert again["conflict_count"] == 1  # reported on every run until it is resolved


def test_with_state_a_reference_edit_is_patched(paid, tmp_path):
    sandbox, business_id = paid
    sync(business_id, [payment()], state_path=str(tmp_path))
    summary = sync(business_id, [payment(payment_reference="REF-2")], state_path=str(tmp_path))
    assert summary["updated"] == 1
    assert stored(sandbox, business_id)["payment_reference"] == "REF-2"
    again = sync(business_id, [payment(payment_reference="REF-2")], state_path=str(tmp_path))
    assert (again["unchanged"], again["requests"]) == (1, 0)


def test_an_unchanged_rerun_is_proven_by_the_idempotent_replay(paid):
    _sandbox, business_id = paid
    sync(business_id, [payment()])
    summary = sync(business_id, [payment()])
    assert (summary["unchanged"], summary["unverified"]) == (1, 0)


def test_an_unverified_payment_is_looked_at_again_not_settled_by_the_state(paid, tmp_path):
    sandbox, business_id = paid
    sync(business_id, [payment()])  # recorded before the state existed: no baseline for it
    edited = [
        payment(amount_cents=2_000, allocations=[{"invoice_external_id": "inv-1", "amount_cents": 2_000}])
    ]
    first = sync(business_id, edited, state_path=str(tmp_path), on_conflict="warn")
    again = sync(business_id, edited, state_path=str(tmp_path), on_conflict="warn")
    if sandbox.config.strict:
        assert (first["unverified"], again["unverified"], again["unchanged"]) == (1, 1, 0)
    else:
        assert first["conflict_count"] == again["conflict_count"] == 1
