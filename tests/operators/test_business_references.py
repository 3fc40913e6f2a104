"""One new invoice for a known customer costs the token and the create, not a tour of the business.

With ``state_path`` the business's currency, customer ids and account ids are remembered in the
sync state (:mod:`thredfi_provider.operators._sync.remembered`); without it they are fetched once per
task. Counted in requests per business, across several businesses, in a fresh client each day
(as a new task process would be).
"""

from __future__ import annotations

import pytest

from tests.helpers import make_client, onboard
from tests.helpers.operators import invoice, run
from thredfi_provider.hooks.thredfi import clear_shared_clients
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

BUSINESSES = 4


@pytest.fixture(params=["default", "strict"])
def many(request, thredfi_sandbox_factory, fast_conn):
    sandbox = thredfi_sandbox_factory(strict=request.param == "strict")
    fast_conn(sandbox)
    client = make_client(sandbox)
    ids = []
    for n in range(BUSINESSES):
        business_id = onboard(client, f"b{n}")
        client.create(business_id, "customers", {"external_id": "cust-1", "company_name": "Customer 1"})
        ids.append(business_id)
    return sandbox, ids


def day(sandbox, ids, n, **kwargs):
    """One new invoice into every business, in a fresh process's client; the requests it cost."""
    clear_shared_clients()
    before = sandbox.counter("requests")
    records = [invoice(n) | {"business_id": b, "external_id": f"{b}-inv-{n}"} for b in ids]
    summary, _ = run(ThredfiSyncInvoicesOperator(task_id="s", records=records, **kwargs))
    assert summary["created"] == len(ids)
    return sandbox.counter("requests") - before


def test_without_state_each_business_costs_at_most_five_requests(many):
    sandbox, ids = many
    day(sandbox, ids, 1)
    # a partner token (two against the strict server), then per business: its token, the business,
    # customers, accounts, the create
    assert day(sandbox, ids, 2) <= 2 + 5 * len(ids)


def test_with_state_a_known_business_costs_its_token_and_the_create(many, tmp_path):
    sandbox, ids = many
    day(sandbox, ids, 1, state_path=str(tmp_path))
    # A partner token (the strict server refuses the form body first: one more, once per process),
    # then per business its token and the create: no business, customers or accounts read.
    assert day(sandbox, ids, 2, state_path=str(tmp_path)) <= 2 + 2 * len(ids)


def test_a_refusal_forgets_what_was_remembered(many, tmp_path):
    from thredfi_provider.operators._sync.state import SyncState

    sandbox, ids = many
    day(sandbox, ids, 1, state_path=str(tmp_path))
    state = SyncState.load(str(tmp_path), None, "thredfi_default", ids[0], "invoice")
    assert state.remembered.parties["customer"]  # learned on day 1
    state.remembered.parties["customer"]["cust-1"] = "00000000-0000-0000-0000-000000000000"  # went stale
    state.remembered.changed = True
    state.save()
    clear_shared_clients()
    stale, _ = run(ThredfiSyncInvoicesOperator(
        task_id="s", business_id=ids[0], records=[invoice(2)], state_path=str(tmp_path), fail_on_error=False))  # fmt: skip
    assert stale["failed_count"] == 1  # Thredfi refused the stale customer id
    healed, _ = run(ThredfiSyncInvoicesOperator(
        task_id="s", business_id=ids[0], records=[invoice(2)], state_path=str(tmp_path)))  # fmt: skip
    assert healed["created"] == 1  # the next run learned it again
