"""The one resource registry: names, paths, wrappers and models, read by every layer."""

from __future__ import annotations

import dataclasses

import pytest

from tests.helpers import make_client, onboard
from thredfi_provider.client.errors import ThredfiValidationError
from thredfi_provider.client.resources import BILL_PAYMENT, PAYMENT, RESOURCES, resolve
from thredfi_provider.client.stats import ClientStats


def test_a_resource_resolves_by_itself_its_name_or_its_path():
    assert resolve(PAYMENT) is PAYMENT
    assert resolve("payment") is PAYMENT
    assert resolve("invoices/payments") is PAYMENT
    assert resolve("/invoices/payments/") is PAYMENT


def test_the_model_of_each_synced_resource_is_the_one_that_names_it_and_no_other_is_paired():
    from thredfi_provider.client import models

    named = {cls for cls in vars(models).values() if isinstance(cls, type) and "resource" in vars(cls)}
    assert {m.resource.name for m in named} == set(models.MODELS)
    for resource in RESOURCES.values():
        if resource.name in models.MODELS:
            assert models.model_for(resource).resource is resource
        else:
            with pytest.raises(TypeError, match=f"{resource.name} records have no record model"):
                models.model_for(resource)


def test_every_spelling_of_a_resource_resolves_to_one_entry_with_its_rules():
    from thredfi_provider.client.resources import CUSTOMER, INVOICE, VENDOR, old_spelling

    for resource in RESOURCES.values():
        assert resolve(resource.plural) is resource
        assert old_spelling(resource.plural) is resource
    assert [r.date_field for r in (INVOICE, PAYMENT, BILL_PAYMENT)] == [
        "sent_at",
        "payment_date",
        "payment_date",
    ]
    assert INVOICE.removal == ("void", "void")
    assert CUSTOMER.removal == ("archive", "archived")
    assert VENDOR.removal is None
    assert VENDOR.archivable
    assert not INVOICE.archivable
    assert INVOICE.is_void({"status": " VOIDED"})
    assert INVOICE.is_settled({"status": "Partially_Paid"})
    assert CUSTOMER.is_archived({"is_archived": True})
    assert CUSTOMER.is_archived({"status": "ARCHIVED"})
    assert not CUSTOMER.is_archived({"status": "active"})


def test_a_wrapped_payment_is_read_for_invoice_and_bill_payments_alike():
    body = {"payment": {"id": "p1"}, "allocations": []}
    assert PAYMENT.unwrap(body) == {"id": "p1"}
    assert BILL_PAYMENT.unwrap(body) == {"id": "p1"}
    assert BILL_PAYMENT.unwrap({"id": "p2"}) == {"id": "p2"}


def test_a_business_scoped_path_without_a_business_is_a_client_error_before_any_request():
    with pytest.raises(ThredfiValidationError, match="business_id is required"):
        resolve("invoice").collection(None)


def test_a_filter_may_have_any_name_through_params(thredfi_sandbox):
    client = make_client(thredfi_sandbox)
    business_id = onboard(client, "acme")
    client.create(business_id, "customers", {"external_id": "c1", "company_name": "One"})
    found = list(client.list_records(business_id, "customer", params={"business_id": "ignored"}))
    assert [c["external_id"] for c in found] == ["c1"]


def test_client_stats_are_plain_data():
    counted = ClientStats()
    counted.sent()
    counted.retried()
    assert dataclasses.asdict(counted) == {
        "requests": 1,
        "token_requests": 0,
        "retries": 1,
        "reauthentications": 0,
    }
