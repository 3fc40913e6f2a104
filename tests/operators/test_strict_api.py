"""The provider against the published API to the letter (the sandbox's strict mode)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.helpers import make_client, onboard
from tests.helpers.operators import invoice, run
from thredfi_provider.client.models import LineItem
from thredfi_provider.hooks.status import ResourceQuery, evaluate
from thredfi_provider.operators.businesses import ThredfiSyncBusinessesOperator
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
from thredfi_provider.operators.payments import ThredfiSyncPaymentsOperator


@pytest.fixture
def strict(thredfi_sandbox_factory, fast_conn):
    sandbox = thredfi_sandbox_factory(strict=True)
    fast_conn(sandbox)
    client = make_client(sandbox)
    business_id = onboard(client, "acme")
    client.create(business_id, "customers", {"external_id": "cust-1", "company_name": "Customer 1"})
    client.create(business_id, "customers", {"external_id": "cust-2", "company_name": "Customer 2"})
    return sandbox, client, business_id


@pytest.fixture
def invoice_lists(monkeypatch) -> list[str]:
    """Every GET of an invoice list any client makes from now on."""
    from thredfi_provider.client.client import ThredfiClient

    seen: list[str] = []
    real = ThredfiClient.request

    def spy(self, method, path, **kwargs):
        if method == "GET" and urlsplit(path).path.rstrip("/").endswith("/invoices"):
            seen.append(path)
        return real(self, method, path, **kwargs)

    monkeypatch.setattr(ThredfiClient, "request", spy)
    return seen


def payments(numbers, **extra):
    return [
        {"external_id": f"pay-{n}", "amount_cents": 100, "payment_date": "2024-03-10",
         "allocations": [{"invoice_external_id": f"inv-{n}", "amount_cents": 100}], **extra}
        for n in numbers
    ]  # fmt: skip


def test_allocation_lookups_cost_pages_not_references_when_the_filter_is_ignored(strict, invoice_lists):
    _, _, business_id = strict
    records = [invoice(n, cents=100) for n in range(450)]
    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=records))
    invoice_lists.clear()
    summary, _ = run(
        ThredfiSyncPaymentsOperator(task_id="p", business_id=business_id, records=payments(range(50)))
    )
    assert (summary["created"], summary["failed"]) == (50, [])
    # 450 invoices = 5 pages, plus the one filtered probe that showed the filter is ignored
    assert len(invoice_lists) <= 5 + 1, len(invoice_lists)


def test_the_same_lookups_against_a_server_that_honours_the_filter_check_the_match(
    thredfi_sandbox, seeded, fast_conn
):
    fast_conn(thredfi_sandbox)
    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=[invoice(n) for n in range(3)]))
    summary, _ = run(ThredfiSyncPaymentsOperator(task_id="p", business_id=seeded, records=payments(range(3))))
    assert (summary["created"], summary["failed"]) == (3, [])


def test_a_payment_without_customer_id_takes_its_invoices_customer(strict):
    sandbox, _, business_id = strict
    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id,
                                    records=[invoice(1, customer_external_id="cust-2", cents=100)]))  # fmt: skip
    summary, _ = run(ThredfiSyncPaymentsOperator(task_id="p", business_id=business_id, records=payments([1])))
    assert (summary["created"], summary["failed"]) == (1, [])
    [payment] = sandbox.records("payments", business_id)
    [customer] = [c for c in sandbox.records("customers", business_id) if c["external_id"] == "cust-2"]
    assert payment["customer_id"] == customer["id"]


def test_a_payment_by_written_back_invoice_id_needs_no_list_lookup(strict, invoice_lists):
    _, _, business_id = strict
    summary, _ = run(
        ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=[invoice(1, cents=100)])
    )
    record = {"external_id": "pay-1", "amount_cents": 100, "payment_date": "2024-03-10",
              "allocations": [{"invoice_id": summary["ids"]["inv-1"], "amount_cents": 100}]}  # fmt: skip
    invoice_lists.clear()
    paid, _ = run(ThredfiSyncPaymentsOperator(task_id="p", business_id=business_id, records=[record]))
    assert paid["created"] == 1
    assert invoice_lists == []


def test_api_reference_line_shapes_are_accepted_and_sent(strict):
    sandbox, client, business_id = strict
    [account] = [a for a in client.list_records(business_id, "account") if a["code"] == "4100"] or [None]
    assert account is not None, "the sandbox's chart of accounts has a 4100"
    line = {"description": "Work", "quantity": 2, "unit_price": 500,
            "account_identifier": {"id": account["id"], "type": "AccountId"}}  # fmt: skip
    summary, _ = run(ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id,
                                                 records=[invoice(1, line_items=[line])]))  # fmt: skip
    assert (summary["created"], summary["failed"]) == (1, [])
    [held] = sandbox.records("invoices", business_id)
    assert (held["line_items"][0]["account_code"], held["total_amount_cents"]) == ("4100", 1_000)


def test_whole_quantities_go_out_as_integers():
    assert LineItem(quantity=2, unit_price_cents=5).payload()["quantity"] == 2
    assert isinstance(LineItem(quantity=2.0, unit_price_cents=5).payload()["quantity"], int)
    assert LineItem(quantity=1.5, unit_price_cents=5).payload()["quantity"] == pytest.approx(1.5)
    assert "unit_price_cents" not in LineItem(quantity=1, unit_price_cents=5).payload()


def test_a_drf_validation_body_names_the_field_of_the_failed_record(strict):
    record = {"external_id": "gmbh", "legal_name": "GmbH", "entity_type": "gmbh", "email": "g@example.com",
              "country": "GB", "base_currency": "GBP"}  # fmt: skip
    summary, _ = run(ThredfiSyncBusinessesOperator(task_id="b", records=[record], fail_on_error=False))
    [failure] = summary["failed"]
    assert failure["field"] == "entity_type"
    assert "entity_type" in failure["error"]


def test_an_unknown_business_costs_one_lookup_not_one_per_record(strict):
    sandbox, _, _ = strict
    unknown = "00000000-0000-4000-8000-000000000000"
    before = sandbox.state.counters["requests"]
    summary, _ = run(ThredfiSyncInvoicesOperator(task_id="s", business_id=unknown,
                                                 records=[invoice(n) for n in range(20)], fail_on_error=False))  # fmt: skip
    assert len(summary["failed"]) == 20
    assert sandbox.state.counters["requests"] - before <= 3  # a token attempt and one refused lookup


def test_the_sensor_finds_a_business_by_external_id_when_the_filter_is_ignored(strict):
    _, client, _ = strict
    for name in ("alpha", "beta", "gamma"):
        onboard(client, name)
    outcome = evaluate(client, ResourceQuery(resource="business", external_id="gamma"))
    assert outcome.met
    assert outcome.value["external_id"] == "gamma"
    missing = evaluate(client, ResourceQuery(resource="business", external_id="delta"))
    assert not missing.met


def test_the_deferrable_trigger_waits_for_a_paid_invoice_in_strict_mode(strict):
    import asyncio
    import time

    from thredfi_provider.triggers.resource import ThredfiResourceTrigger

    _, _, business_id = strict
    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id,
                                    records=[invoice(n, cents=100) for n in range(3)]))  # fmt: skip
    run(ThredfiSyncPaymentsOperator(task_id="p", business_id=business_id, records=payments([2])))
    trigger = ThredfiResourceTrigger(
        thredfi_conn_id="thredfi_default", poll_interval=0.05, timeout_at=time.time() + 20,
        query={"resource": "invoice", "business_id": business_id, "external_id": "inv-2",
               "condition": {"status": ["paid"]}},
    )  # fmt: skip

    async def events():
        return [event async for event in trigger.run()]

    [event] = asyncio.run(events())
    assert event.payload["status"] == "success"
    assert event.payload["value"]["external_id"] == "inv-2"
