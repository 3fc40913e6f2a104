"""The client against the real sandbox over HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest
import requests

from tests.helpers import make_client, onboard
from thredfi_provider.client.errors import ThredfiAuthError, ThredfiPermissionError, ThredfiValidationError
from thredfi_provider.client.settings import resolve_base_url


def test_thousand_calls_to_one_business_make_two_token_requests(thredfi_sandbox, client):
    business_id = onboard(client)
    for _ in range(1000):
        client.request(
            "GET", f"businesses/{business_id}/customers/", business_id=business_id, params={"page_size": 1}
        )
    assert thredfi_sandbox.counter("partner_token") == 1
    assert thredfi_sandbox.counter("business_token") == 1
    assert client.stats.token_requests == 2


def test_each_business_gets_its_own_token(thredfi_sandbox, client):
    a, b = onboard(client, "a"), onboard(client, "b")
    client.create(a, "customers", {"external_id": "c", "company_name": "A's customer"})
    client.create(b, "customers", {"external_id": "c", "company_name": "B's customer"})
    assert thredfi_sandbox.counter("business_token") == 2
    assert [c["company_name"] for c in client.list_records(a, "customers")] == ["A's customer"]
    assert [c["company_name"] for c in client.list_records(b, "customers")] == ["B's customer"]


def test_the_server_refuses_a_business_token_on_another_business(thredfi_sandbox, client):
    """The scoping is real, not a client convention."""
    a, b = onboard(client, "a"), onboard(client, "b")
    token_a = client.business_token(a)
    response = requests.get(
        f"{thredfi_sandbox.base_url}/v1/platform/businesses/{b}/customers/",
        headers={"Authorization": f"Bearer {token_a}"},
        timeout=5,
    )
    assert response.status_code == 403


def test_token_is_refreshed_before_expiry_without_a_401(thredfi_sandbox):
    now = [1000.0]
    client = make_client(thredfi_sandbox, clock=lambda: now[0])
    business_id = onboard(client)
    list(client.list_records(business_id, "customers"))
    assert thredfi_sandbox.counter("business_token") == 1
    now[0] += 3600 - 200  # inside the 300 s refresh margin of a 3600 s token
    list(client.list_records(business_id, "customers"))
    assert thredfi_sandbox.counter("business_token") == 2
    assert client.stats.reauthentications == 0


def test_token_rejected_with_401_is_refreshed_once(thredfi_sandbox, client):
    business_id = onboard(client)
    list(client.list_records(business_id, "customers"))
    thredfi_sandbox.expire_tokens()
    assert list(client.list_records(business_id, "customers")) == []
    assert client.stats.reauthentications >= 1
    assert thredfi_sandbox.counter("partner_token") == 2


def test_wrong_credentials_fail_without_retrying(thredfi_sandbox):
    client = make_client(thredfi_sandbox, api_key="wrong-key-123456")
    with pytest.raises(ThredfiAuthError):
        list(client.list_businesses())
    assert thredfi_sandbox.counter("partner_token") == 1


def test_503_is_retried_until_success(thredfi_sandbox, client):
    business_id = onboard(client)
    thredfi_sandbox.set_faults(error_rate=0.5, seed=7, retry_after=0.01)
    for i in range(20):
        client.create(business_id, "customers", {"external_id": f"c{i}", "company_name": f"C{i}"})
    thredfi_sandbox.set_faults()
    assert thredfi_sandbox.counter("fault_error") > 0
    assert client.stats.retries >= thredfi_sandbox.counter("fault_error")
    assert len(thredfi_sandbox.records("customers", business_id)) == 20


def test_429_honours_retry_after(thredfi_sandbox):
    slept: list[float] = []
    client = make_client(thredfi_sandbox, sleep=slept.append)
    business_id = onboard(client)
    thredfi_sandbox.set_faults(rate_limit_rate=0.6, retry_after=7.0, seed=3)
    customers = list(client.list_records(business_id, "customers"))
    thredfi_sandbox.set_faults()
    assert customers == []
    assert thredfi_sandbox.counter("fault_rate_limit") > 0
    assert slept, "the client should have waited"
    assert all(s >= 7.0 for s in slept)


def test_400_is_not_retried_and_names_the_field(thredfi_sandbox, client):
    business_id = onboard(client)
    list(client.list_records(business_id, "customers"))  # mint the business token first
    before = thredfi_sandbox.counter("requests")
    with pytest.raises(ThredfiValidationError) as info:
        client.create(
            business_id, "customers", {"external_id": "c1", "company_name": "X", "email": "not-an-email"}
        )
    assert thredfi_sandbox.counter("requests") - before == 1
    assert info.value.status == 400
    assert "email" in info.value.details
    assert "email" in str(info.value)


def test_403_is_not_retried(thredfi_sandbox, client):
    business_id = onboard(client)
    before = thredfi_sandbox.counter("requests")
    with pytest.raises(ThredfiPermissionError):
        client.request("GET", f"businesses/{business_id}/customers/")  # partner token on a business route
    assert thredfi_sandbox.counter("requests") - before == 1


@pytest.mark.parametrize("style", ["next", "page_info", "both"])
def test_pagination_reads_every_page_in_both_published_shapes(thredfi_sandbox_factory, style):
    sandbox = thredfi_sandbox_factory(pagination=style)
    client = make_client(sandbox, page_size=10)
    business_id = onboard(client)
    for i in range(25):
        client.create(business_id, "customers", {"external_id": f"c{i:02d}", "company_name": f"C{i}"})
    before = sandbox.counter("requests")
    names = [c["external_id"] for c in client.list_records(business_id, "customers")]
    assert names == [f"c{i:02d}" for i in range(25)]
    assert sandbox.counter("requests") - before == 3


def test_pagination_is_lazy(thredfi_sandbox):
    client = make_client(thredfi_sandbox, page_size=5)
    business_id = onboard(client)
    for i in range(20):
        client.create(business_id, "customers", {"external_id": f"c{i}", "company_name": f"C{i}"})
    before = thredfi_sandbox.counter("requests")
    first = next(iter(client.list_records(business_id, "customers")))
    assert first["external_id"] == "c0"
    assert thredfi_sandbox.counter("requests") - before == 1


def test_partner_token_falls_back_to_json_body(thredfi_sandbox_factory):
    sandbox = thredfi_sandbox_factory(partner_token_body="json")
    client = make_client(sandbox)
    assert list(client.list_businesses()) == []
    assert sandbox.counter("partner_token") == 2  # form refused, JSON accepted
    client.stats.token_requests = 0
    client.requestor.tokens.clear()
    list(client.list_businesses())
    assert client.stats.token_requests == 1  # the working style is remembered


def test_create_is_idempotent_on_external_id(client):
    first = client.create_business(
        {"external_id": "x", "legal_name": "X", "entity_type": "limited", "email": "x@example.com"}
    )
    again = client.create_business(
        {"external_id": "x", "legal_name": "X", "entity_type": "limited", "email": "x@example.com"}
    )
    assert first.created
    assert not again.created
    assert first.record["id"] == again.record["id"]


def test_an_environment_name_resolves_to_its_published_host():
    assert resolve_base_url("production") == "https://backend.thredfi.com"


def test_the_api_path_is_stripped_from_a_base_url():
    assert resolve_base_url("https://sandbox.thredfi.com/v1/platform/") == "https://sandbox.thredfi.com"
