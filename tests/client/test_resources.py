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


def test_every_synced_resource_names_a_model_whose_resource_is_itself():
    for resource in RESOURCES.values():
        if resource.model_name is not None:
            assert resource.model().resource is resource


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
