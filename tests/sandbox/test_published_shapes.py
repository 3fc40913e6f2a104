"""Strict mode answers reads with the published response shapes and nothing more.

A payment read back (get, list, and the replay of a known ``external_id``) is the
InvoicePaymentList shape: ``total_amount`` and allocations' ``amount``, no ``*_cents`` totals, no
``external_id``. A provider tested only against the whole stored record could not see that it
compares fields the real API never returns.
"""

from __future__ import annotations

import pytest

from tests.helpers import make_client, onboard

PUBLISHED = {
    "id", "customer", "customer_name", "customer_email", "payment_method", "total_amount",
    "allocated_amount", "unallocated_amount", "net_amount", "processing_fee", "processing_fee_cents",
    "display_amount", "is_fully_allocated", "is_completed", "processed_at", "failed_at", "created_at",
    "updated_at", "allocations", "refund_allocations", "reconciled_bank_transactions",
}  # fmt: skip
ALLOCATION = {
    "id",
    "invoice_id",
    "invoice_number",
    "invoice_status",
    "amount",
    "allocated_at",
    "transaction_tags",
    "notes",
}


@pytest.fixture(params=["default", "strict"])
def recorded(request, thredfi_sandbox_factory):
    sandbox = thredfi_sandbox_factory(strict=request.param == "strict")
    client = make_client(sandbox)
    business_id = onboard(client, "shapes")
    customer = client.create(business_id, "customers", {"external_id": "c", "company_name": "C"}).record
    invoice = client.create(business_id, "invoices", {
        "external_id": "i", "customer_id": customer["id"], "sent_at": "2024-03-01",
        "line_items": [{"description": "x", "quantity": 1, "unit_price": 1_250, "account_identifier": {"id": _revenue(client, business_id), "type": "AccountId"}}],
    }).record  # fmt: skip
    body = {"external_id": "p", "customer_id": customer["id"], "total_amount_cents": 1_250, "currency": "GBP",
            "payment_date": "2024-03-02", "allocations": [{"invoice_id": invoice["id"], "amount_cents": 1_250}]}  # fmt: skip
    created = client.create(business_id, "payment", body).record
    return sandbox, client, business_id, created, body


def _revenue(client, business_id):
    return next(a["id"] for a in client.list_records(business_id, "account") if str(a.get("code")) == "4000")


def test_a_strict_payment_read_is_the_published_shape(recorded):
    sandbox, client, business_id, created, _ = recorded
    read = client.get(business_id, "payment", created["id"])
    if sandbox.config.strict:
        assert set(read) == PUBLISHED
        assert {k for a in read["allocations"] for k in a} == ALLOCATION
        assert (read["total_amount"], read["allocations"][0]["amount"]) == ("12.50", "12.50")
    else:
        assert read["total_amount_cents"] == 1_250  # the lenient default shows what it stores


def test_a_strict_list_and_replay_show_no_cents_and_no_external_id(recorded):
    sandbox, client, business_id, _created, body = recorded
    [listed] = list(client.list_records(business_id, "payment"))
    replay = client.create(business_id, "payment", body)
    assert not replay.created
    for shape in (listed, replay.record):
        assert ("total_amount_cents" in shape, "external_id" in shape) == (
            (False, False) if sandbox.config.strict else (True, True)
        )
