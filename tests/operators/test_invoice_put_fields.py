"""The invoice PUT sends only what update-invoice publishes (CONTRACT.md §5.5), and says what it cannot (#25).

``sent_at`` and ``metadata`` are create fields the update body does not list. The strict sandbox
refuses each with a 400 naming it, so a PUT that carried either would fail the record; the
default sandbox applies them, so a field it still holds unchanged was never sent. A change in
either is a conflict naming the field, never "updated" or "unchanged".
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import business_with_parties
from tests.helpers.operators import invoice, run
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
from thredfi_provider.sandbox.faults import Plan


@pytest.fixture(params=["default", "strict"])
def box(request, thredfi_sandbox_factory, fast_conn):
    sandbox = thredfi_sandbox_factory(strict=request.param == "strict")
    fast_conn(sandbox)
    return sandbox, business_with_parties(sandbox)


def paths_seen(sandbox) -> list[str]:
    """Every API path the sandbox is asked for from now on (the injector sees each request)."""
    seen: list[str] = []

    def draw(path: str) -> Plan:
        seen.append(path)
        return Plan("ok")

    sandbox.app.state.faults.draw = draw
    sandbox.set_faults(latency_seconds=1e-6)  # switches the injector on; it only watches
    return seen


def sync(business_id: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    operator = ThredfiSyncInvoicesOperator(
        task_id="s", business_id=business_id, records=records, on_conflict="warn", fail_on_error=False
    )
    return run(operator)[0]


def stored(sandbox, business_id: str) -> dict[str, Any]:
    [found] = sandbox.records("invoices", business_id)
    return found


def test_a_changed_sent_at_alone_is_a_conflict_and_sends_no_put(box):
    sandbox, business_id = box
    sync(business_id, [invoice(1, sent_at="2024-03-01")])
    invoice_path = f"/invoices/{stored(sandbox, business_id)['id']}/"
    seen = paths_seen(sandbox)
    moved = [invoice(1, sent_at="2024-03-02")]
    for _ in range(2):  # and again on the next run: never "updated", never "unchanged"
        summary = sync(business_id, moved)
        assert (summary["updated"], summary["unchanged"], summary["failed"]) == (0, 0, [])
        [conflict] = summary["conflicts"]
        assert (conflict["field"], conflict["thredfi"], conflict["source"]) == (
            "sent_at",
            "2024-03-01",
            "2024-03-02",
        )
        assert "published update" in conflict["reason"]
    assert not [p for p in seen if p.endswith(invoice_path)], "nothing to PUT: the PUT cannot carry sent_at"
    assert stored(sandbox, business_id)["sent_at"] == "2024-03-01"


def test_a_put_carries_no_sent_at_or_metadata_and_names_them_as_conflicts(box):
    sandbox, business_id = box
    sync(business_id, [invoice(1, cents=1_000, sent_at="2024-03-01", metadata={"k": 1})])
    invoice_path = f"/invoices/{stored(sandbox, business_id)['id']}/"
    seen, refused = paths_seen(sandbox), sandbox.counter("status_400")
    edited = [invoice(1, cents=2_500, sent_at="2024-03-02", metadata={"k": 2})]
    summary = sync(business_id, edited)
    assert summary["failed"] == [], "a strict server refuses a PUT with sent_at or metadata (400)"
    assert sandbox.counter("status_400") == refused
    assert len([p for p in seen if p.endswith(invoice_path)]) == 1  # the one PUT
    [conflict] = summary["conflicts"]
    assert conflict["field"] == "sent_at"
    assert "metadata" in conflict["reason"]
    assert "other changes were applied" in conflict["reason"]
    after = stored(sandbox, business_id)
    assert after["total_amount_cents"] == 2_500  # the published fields landed
    # The default sandbox applies sent_at and metadata when a PUT carries them: it did not.
    assert (after["sent_at"], after["metadata"]) == ("2024-03-01", {"k": 1})
    again = sync(business_id, edited)
    assert [c["field"] for c in again["conflicts"]] == ["sent_at"]
    assert again["updated"] == 0


def test_an_edit_of_published_fields_only_is_updated_then_unchanged(box):
    sandbox, business_id = box
    sync(business_id, [invoice(1, cents=1_000)])
    edited = [invoice(1, cents=1_200, memo="re-priced", due_at="2024-04-30")]
    assert sync(business_id, edited)["updated"] == 1
    again = sync(business_id, edited)
    assert (again["unchanged"], again["conflicts"]) == (1, [])
    assert stored(sandbox, business_id)["memo"] == "re-priced"


def test_with_sync_state_a_changed_sent_at_is_a_conflict_with_both_values(box, tmp_path):
    """The sync state knows the source changed ``sent_at`` but not what Thredfi holds: the PUT
    (without ``sent_at``) answers with the invoice, and the conflict shows both values."""
    sandbox, business_id = box

    def sync_with_state(records: list[dict[str, Any]]) -> dict[str, Any]:
        operator = ThredfiSyncInvoicesOperator(
            task_id="s", business_id=business_id, records=records, on_conflict="warn",
            fail_on_error=False, state_path=str(tmp_path / "state"),
        )  # fmt: skip
        return run(operator)[0]

    assert sync_with_state([invoice(1, sent_at="2024-03-01")])["created"] == 1
    summary = sync_with_state([invoice(1, sent_at="2024-03-02")])
    assert (summary["updated"], summary["unchanged"], summary["failed"]) == (0, 0, [])
    [conflict] = summary["conflicts"]
    assert (conflict["field"], conflict["thredfi"], conflict["source"]) == (
        "sent_at",
        "2024-03-01",
        "2024-03-02",
    )
    assert stored(sandbox, business_id)["sent_at"] == "2024-03-01"
