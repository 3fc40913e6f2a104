"""After an ambiguous answer, read the record, then decide (``operators/_sync/read_back.py``).

The operators' lost-answer cases, end to end against the strict sandbox, are in
``tests/operators/test_lost_responses.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import business_with_parties, held, make_client
from tests.helpers.operators import invoice, run
from thredfi_provider.client.errors import ThredfiConflictError
from thredfi_provider.client.resources import INVOICE
from thredfi_provider.operators._sync.read_back import act_or_read_back
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
from thredfi_provider.operators.payments import ThredfiSyncPaymentsOperator


@pytest.fixture
def box(thredfi_strict_sandbox, fast_conn):
    """A strict sandbox with a business and a customer; the operators point at it."""
    fast_conn(thredfi_strict_sandbox)
    return thredfi_strict_sandbox, business_with_parties(thredfi_strict_sandbox)


def test_voiding_a_paid_invoice_raises_the_conflict_after_reading_it_back(box):
    sandbox, business_id = box
    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=[invoice(1, cents=1_000)]))
    payment = {"external_id": "pay-1", "amount_cents": 1_000, "payment_date": "2024-03-10",
               "allocations": [{"invoice_external_id": "inv-1", "amount_cents": 1_000}]}  # fmt: skip
    assert (
        run(ThredfiSyncPaymentsOperator(task_id="p", business_id=business_id, records=[payment]))[0][
            "created"
        ]
        == 1
    )
    invoice_id = held(sandbox, "invoices", business_id, "inv-1")["id"]
    client = make_client(sandbox)
    reads: list[str] = []

    def read(rid: str) -> dict[str, Any]:
        reads.append(rid)
        return client.get(business_id, INVOICE, rid)

    with pytest.raises(ThredfiConflictError, match="invoice_not_voidable"):
        act_or_read_back(client, business_id, INVOICE, invoice_id, "void",
                         done=lambda now: INVOICE.status_of(now) == "void", read=read)  # fmt: skip
    assert reads == [invoice_id]  # it did look before deciding
    assert held(sandbox, "invoices", business_id, "inv-1")["status"] == "paid"
