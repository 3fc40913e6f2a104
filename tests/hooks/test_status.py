"""The status check the sensor and the trigger share (hooks/status.py), one query shape each."""

from __future__ import annotations

import pytest

from tests.helpers import make_client, onboard
from thredfi_provider.client.errors import ThredfiValidationError
from thredfi_provider.hooks.status import ResourceQuery, evaluate


@pytest.fixture
def acme(thredfi_sandbox):
    client = make_client(thredfi_sandbox)
    return client, onboard(client, "acme")


def test_a_business_is_watched_by_its_business_id(acme):
    client, business_id = acme
    outcome = evaluate(client, ResourceQuery("business", business_id=business_id, filters={"any": "x"}))
    assert outcome.met
    assert outcome.value["id"] == business_id


def test_a_business_is_found_by_external_id(acme):
    client, business_id = acme
    outcome = evaluate(client, ResourceQuery("business", external_id="acme"))
    assert outcome.met
    assert outcome.value["id"] == business_id


def test_a_missing_external_id_is_not_yet(acme):
    client, business_id = acme
    outcome = evaluate(client, ResourceQuery("customer", business_id=business_id, external_id="nobody"))
    assert not outcome.met
    assert outcome.reason == "no record with that external_id yet"


def test_filters_count_matching_records(acme):
    client, business_id = acme
    for n in (1, 2):
        client.create(business_id, "customers", {"external_id": f"c{n}", "company_name": f"C{n}"})
    listed = {"include_archived": "true"}
    met = evaluate(client, ResourceQuery("customer", business_id=business_id, filters=listed, min_count=2))
    assert met.met
    assert met.value["count"] == 2
    assert len(met.value["ids"]) == 2
    short = evaluate(client, ResourceQuery("customer", business_id=business_id, filters=listed, min_count=3))
    assert not short.met
    assert short.reason == "2 of 3 matching"


def test_an_id_that_could_rewrite_the_url_fails_before_any_request(acme, thredfi_sandbox):
    client, business_id = acme
    before = thredfi_sandbox.counter("requests")
    with pytest.raises(ThredfiValidationError):
        evaluate(client, ResourceQuery("invoice", business_id=business_id, resource_id="../oauth2/token"))
    assert thredfi_sandbox.counter("requests") == before
