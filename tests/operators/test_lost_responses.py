"""Exactly once under lost answers: after an ambiguous failure, read the record, then decide (#25).

Against the strict sandbox a retried void, archive or unarchive whose first attempt landed is a
409 (CONTRACT.md §5.5), so the retry's status says "conflict" for a change that succeeded. The
operators read the record back and go by its state. The faults here are aimed at one request:
the sandbox's injector drops the answer to the first void (archive, unarchive) after the write
committed, and answers every other request.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.helpers import business_with_parties, held, make_client
from tests.helpers.operators import invoice, run
from thredfi_provider.client.errors import ThredfiError
from thredfi_provider.operators._sync.lookups import BusinessLookups
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
from thredfi_provider.operators.parties import ThredfiSyncCustomersOperator, ThredfiSyncVendorsOperator
from thredfi_provider.sandbox.faults import Plan

INVOICE_ITSELF = re.compile(r"/invoices/(?!payments/)[^/]+/$")  # GET (or PUT) one invoice by id


@pytest.fixture
def box(thredfi_strict_sandbox, fast_conn):
    """A strict sandbox with a business, a customer and a vendor; the operators point at it."""
    fast_conn(thredfi_strict_sandbox)
    return thredfi_strict_sandbox, business_with_parties(thredfi_strict_sandbox, vendors=1)


def aim_faults(
    sandbox, *, drop: str | None = None, refuse_invoice_get: bool = False, before=None
) -> list[str]:
    """Aim the sandbox's fault injector: drop-after-commit on the first request whose path ends
    with ``drop``; with ``refuse_invoice_get``, 405 to every request for one invoice by id (as a
    server that lacks the widget-only GET would); ``before(path)`` runs as a request arrives,
    before its handler. Every other request is answered. Returns every path seen."""
    seen: list[str] = []
    dropped: list[str] = []

    def draw(path: str) -> Plan:
        seen.append(path)
        if before is not None:
            before(path)
        if drop is not None and path.endswith(drop) and not dropped:
            dropped.append(path)
            return Plan("drop")
        if refuse_invoice_get and INVOICE_ITSELF.search(path):
            return Plan("error", 405)
        return Plan("ok")

    sandbox.app.state.faults.draw = draw
    sandbox.set_faults(drop_after_commit_rate=1.0)  # switches the injector on; ``draw`` aims it
    return seen


def postings(sandbox, business_id: str, document_id: str) -> int:
    return sum(
        1 for e in sandbox.records("journal_entries", business_id) if e["source_reference"] == document_id
    )


def sync_invoices(business_id: str, records: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    operator = ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=records, **kwargs)
    return run(operator)[0]


# ---------------------------------------------------------------- voids


def test_a_void_whose_answer_was_lost_is_voided_once_not_failed(box):
    sandbox, business_id = box
    sync_invoices(business_id, [invoice(1, cents=1_000)])
    invoice_id = held(sandbox, "invoices", business_id, "inv-1")["id"]
    aim_faults(sandbox, drop="/void/")
    summary = sync_invoices(business_id, [invoice(1, cents=1_000, cancelled=True)], fail_on_error=False)
    assert sandbox.counter("fault_drop") == 1, "the void's answer must have been dropped"
    assert sandbox.counter("status_409") == 1, "the retried void must have met the strict 409"
    assert (summary["voided"], summary["failed"]) == (1, [])
    assert summary["ids"] == {"inv-1": invoice_id}
    assert held(sandbox, "invoices", business_id, "inv-1")["status"] == "void"
    assert postings(sandbox, business_id, invoice_id) == 2  # posted once, reversed once: one void


def test_a_lost_void_is_settled_from_the_list_when_get_by_id_is_refused(box):
    """GET invoice by id is widget-only (CONTRACT.md §5.1 row 15): a 405 there is not the answer."""
    sandbox, business_id = box
    sync_invoices(business_id, [invoice(1, cents=1_000)])
    seen = aim_faults(sandbox, drop="/void/", refuse_invoice_get=True)
    summary = sync_invoices(business_id, [invoice(1, cents=1_000, cancelled=True)], fail_on_error=False)
    assert (summary["voided"], summary["failed"]) == (1, [])
    assert sandbox.counter("fault_error") >= 1, "the read-back must have met the refused GET"
    after_void = seen[[p.endswith("/void/") for p in seen].index(True) :]
    assert any(p.endswith("/invoices/") for p in after_void), "settled from the published list"
    invoice_id = held(sandbox, "invoices", business_id, "inv-1")["id"]
    assert postings(sandbox, business_id, invoice_id) == 2


def test_read_finds_an_invoice_in_the_list_when_get_by_id_answers_405(box):
    sandbox, business_id = box
    sync_invoices(business_id, [invoice(1, cents=1_000)])
    stored = held(sandbox, "invoices", business_id, "inv-1")
    aim_faults(sandbox, refuse_invoice_get=True)
    operator = ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=[])
    client = make_client(sandbox)
    lookups = BusinessLookups(client, business_id)
    found = operator.read(client, lookups, stored["id"])
    assert (found["id"], found["external_id"]) == (stored["id"], "inv-1")
    with pytest.raises(ThredfiError) as missing:
        operator.read(client, lookups, "00000000-0000-4000-8000-000000000000")
    assert missing.value.status == 405  # not in the list either: the GET's own answer


def test_a_genuine_409_is_still_a_failure_not_a_void(box):
    """A void of an invoice paid since the operator listed it: the read-back shows it paid."""
    sandbox, business_id = box
    sync_invoices(business_id, [invoice(1, cents=1_000)])
    stored = held(sandbox, "invoices", business_id, "inv-1")

    def paid_meanwhile(path: str) -> None:
        if path.endswith("/void/"):  # a payment lands between the operator's list and its void
            sandbox.state.store.put("invoices", {**stored, "status": "paid", "amount_paid_cents": 1_000,
                                                 "outstanding_amount_cents": 0})  # fmt: skip

    aim_faults(sandbox, before=paid_meanwhile)
    summary = sync_invoices(business_id, [invoice(1, cents=1_000, cancelled=True)], fail_on_error=False)
    assert summary["voided"] == 0
    [failure] = summary["failed"]
    assert (failure["external_id"], failure["status"]) == ("inv-1", 409)
    assert "invoice_not_voidable" in failure["error"]
    assert held(sandbox, "invoices", business_id, "inv-1")["status"] == "paid"
    assert postings(sandbox, business_id, stored["id"]) == 1  # nothing reversed


# ---------------------------------------------------------------- archive and unarchive


def test_an_archive_whose_answer_was_lost_is_updated_once_not_failed(box):
    sandbox, business_id = box
    aim_faults(sandbox, drop="/archive/")
    records = [{"external_id": "cust-1", "company_name": "Customer 1", "archived": True}]
    summary = run(ThredfiSyncCustomersOperator(task_id="c", business_id=business_id, records=records,
                                               fail_on_error=False))[0]  # fmt: skip
    assert (sandbox.counter("fault_drop"), sandbox.counter("status_409")) == (1, 1)
    assert (summary["updated"], summary["failed"]) == (1, [])
    assert held(sandbox, "customers", business_id, "cust-1")["is_archived"] is True


def test_an_unarchive_whose_answer_was_lost_is_updated_once_not_failed(box):
    sandbox, business_id = box
    vendor = held(sandbox, "vendors", business_id, "vend-1")
    sandbox.state.store.put("vendors", {**vendor, "is_archived": True, "status": "ARCHIVED"})
    aim_faults(sandbox, drop="/unarchive/")
    records = [{"external_id": "vend-1", "company_name": "Vendor 1"}]
    summary = run(ThredfiSyncVendorsOperator(task_id="v", business_id=business_id, records=records,
                                             fail_on_error=False))[0]  # fmt: skip
    assert (sandbox.counter("fault_drop"), sandbox.counter("status_409")) == (1, 1)
    assert (summary["updated"], summary["failed"]) == (1, [])
    assert held(sandbox, "vendors", business_id, "vend-1")["is_archived"] is False
