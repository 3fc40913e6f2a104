"""A reference to an archived customer by Thredfi id still resolves, whatever the list shows.

The vendors list documents ``include_archived``; the customers list's parameters were never
published, so the strict sandbox ignores it there and hides archived customers from the list.
The lookup then asks get-customer (published) before calling the id unknown.
"""

from __future__ import annotations

import pytest

from tests.helpers import make_client, onboard
from tests.helpers.operators import invoice, run
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator


@pytest.fixture(params=["default", "strict"])
def archived(request, thredfi_sandbox_factory, fast_conn):
    sandbox = thredfi_sandbox_factory(strict=request.param == "strict")
    fast_conn(sandbox)
    client = make_client(sandbox)
    business_id = onboard(client, "arch")
    customer = client.create(business_id, "customers", {"external_id": "old", "company_name": "Old"}).record
    client.action(business_id, "customers", customer["id"], "archive")
    return sandbox, business_id, customer["id"]


def test_an_archived_customer_given_by_id_is_not_unknown(archived):
    sandbox, business_id, customer_id = archived
    record = invoice(1)
    del record["customer_external_id"]
    summary, _ = run(
        ThredfiSyncInvoicesOperator(
            task_id="s",
            business_id=business_id,
            records=[record | {"customer_id": customer_id}],
            fail_on_error=False,
        )
    )
    assert (summary["created"], summary["failed"]) == (1, [])
    listed = [
        c["id"] for c in make_client(sandbox).list_records(business_id, "customers", include_archived="true")
    ]
    if sandbox.config.strict:
        assert customer_id not in listed  # the strict list hides it: only get-customer finds it
