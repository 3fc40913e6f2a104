"""The client against servers that stall, drip, loop, echo secrets and ask for a day's wait.

Each test names the property it guards; each was seen to fail with that property removed.
"""

from __future__ import annotations

import base64
import time

import pytest

from tests.helpers.hostile_server import HostileServer
from thredfi_provider.client.client import ThredfiClient
from thredfi_provider.client.errors import (
    ThredfiAuthError,
    ThredfiConnectionError,
    ThredfiError,
    ThredfiRateLimitError,
    ThredfiRetryLaterError,
    ThredfiServerError,
    ThredfiValidationError,
)
from thredfi_provider.client.settings import ClientSettings


@pytest.fixture
def hostile():
    server = HostileServer().start()
    yield server
    server.stop()


def client_for(server: HostileServer, slept: list[float] | None = None, **overrides) -> ThredfiClient:
    options = {"backoff_initial": 0.05, "backoff_max": 0.2, "max_retries": 5, "max_retry_seconds": 10.0}
    options.update(overrides)
    extra = {}
    if slept is not None:

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            time.sleep(seconds)

        extra["sleep"] = sleep
    settings = ClientSettings(server.base_url, server.partner_id, server.api_key, **options)
    return ThredfiClient(settings, **extra)


# ------------------------------------------------------------------ Retry-After and the budget


@pytest.mark.parametrize("value", ["86400", "day"])
def test_a_retry_after_beyond_the_budget_fails_at_once_and_says_when(hostile, value):
    slept: list[float] = []
    client = client_for(hostile, slept, max_retry_seconds=120)
    with pytest.raises(ThredfiRetryLaterError) as caught:
        client.request("GET", f"retry-after/{value}/")
    assert slept == []  # not a single day-long sleep
    assert caught.value.retryable
    assert caught.value.retry_after == pytest.approx(86400, abs=120)
    assert "come back after" in str(caught.value)
    assert len(hostile.hits("retry-after")) == 1


def test_a_short_retry_after_is_honoured_then_the_attempts_run_out(hostile):
    slept: list[float] = []
    client = client_for(hostile, slept, max_retries=2, max_retry_seconds=30)
    with pytest.raises(ThredfiRateLimitError) as caught:
        client.request("GET", "retry-after/1/")
    assert not isinstance(caught.value, ThredfiRetryLaterError)
    assert len(slept) == 2
    assert all(1.0 <= s < 1.1 for s in slept)


def test_backoff_waits_never_outlast_the_call_budget(hostile):
    slept: list[float] = []
    budget = 1.5
    client = client_for(
        hostile, slept, backoff_initial=0.5, backoff_max=60, max_retries=50, max_retry_seconds=budget
    )
    with pytest.raises(ThredfiServerError):
        client.request("GET", "unavailable/")
    assert slept, "it should have retried at least once"
    assert sum(slept) <= budget
    assert len(hostile.hits("unavailable")) <= len(slept) + 1


@pytest.mark.parametrize(("scenario", "status"), [("retry-after/86400", "429"), ("unavailable", "503")])
def test_test_connection_makes_one_attempt(hostile, monkeypatch, scenario, status):
    """A UI click against a failing server returns at once, after one attempt."""
    import json

    from thredfi_provider.hooks.thredfi import ThredfiHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_THREDFI_HOSTILE",
        json.dumps(
            {
                "conn_type": "thredfi",
                "login": hostile.partner_id,
                "password": hostile.api_key,
                "host": f"{hostile.base_url}/v1/platform/{scenario}",
            }
        ),
    )
    ok, message = ThredfiHook("thredfi_hostile").test_connection()
    assert not ok
    assert status in message
    calls = [s for s in hostile.seen if scenario in s.path and not s.path.endswith("/oauth2/token/")]
    assert len(calls) == 1
    assert hostile.api_key not in message


# ------------------------------------------------------------------ deadlines


@pytest.mark.timeout(60)
@pytest.mark.parametrize("scenario", ["drip", "drip-headers", "stall"])
def test_a_dripping_or_stalled_server_cannot_hold_a_call(hostile, scenario):
    """Each attempt has a total deadline (connect plus the whole read), and so does the call."""
    client = client_for(hostile, timeout=3, attempt_timeout=2, max_retries=10, max_retry_seconds=5)
    started = time.monotonic()
    with pytest.raises(ThredfiConnectionError) as caught:
        client.request("GET", f"{scenario}/")
    # bounded: the call's whole budget plus one socket timeout of slack, not minutes
    assert time.monotonic() - started < 5 + 3 + 1
    assert "deadline" in str(caught.value)
    assert 1 <= len(hostile.hits(scenario)) <= 3


def test_a_fast_answer_is_not_affected_by_the_deadline_machinery(hostile):
    client = client_for(hostile, attempt_timeout=2)
    for _ in range(50):
        assert client.request_json("GET", "fine/") == {"ok": True}


# ------------------------------------------------------------------ pagination that never ends


@pytest.mark.parametrize("scenario", ["loop-next", "loop-page"])
def test_pagination_that_points_back_stops_with_an_error(hostile, scenario):
    client = client_for(hostile)
    with pytest.raises(ThredfiError, match="pagination loop"):
        list(client.paginate(f"{scenario}/"))
    assert len(hostile.hits(scenario)) == 2


def test_pagination_stops_past_what_its_count_allows(hostile, monkeypatch):
    """Even with fresh page numbers every time, a list of 500 cannot take more than 6 pages."""
    client = client_for(hostile)

    def read_up_to_1000_pages() -> None:
        pages = client.iter_pages("endless/")
        for _ in range(1000):
            next(pages)

    with pytest.raises(ThredfiError):
        read_up_to_1000_pages()
    assert len(hostile.hits("endless")) == 6  # 500 / 100 pages, plus one for a list that grows


# ------------------------------------------------------------------ tokens go home only


def test_an_absolute_url_to_another_origin_is_refused_before_any_request(hostile):
    thief = HostileServer().start()
    try:
        client = client_for(hostile)
        with pytest.raises(ThredfiValidationError, match="refusing to send a Thredfi token"):
            client.request("GET", f"{thief.base_url}/steal/")
        with pytest.raises(ThredfiValidationError):
            client.request("GET", f"//127.0.0.1:{thief.port}/steal/")
        # the same host on another port is another origin
        assert thief.seen == []
        assert client.request_json("GET", f"{hostile.base_url}/v1/platform/fine/") == {"ok": True}
    finally:
        thief.stop()


@pytest.mark.parametrize(
    "business_id", ["b1?x=", "../../oauth2/token/x", "..", "a/b", "a#b", "a b", "%2e%2e", ""]
)
def test_ids_that_would_rewrite_the_url_are_refused_before_any_request(hostile, business_id):
    client = client_for(hostile)
    with pytest.raises(ThredfiValidationError, match="business_id"):
        client.create(business_id, "invoices", {"external_id": "x"})
    if business_id:  # an empty business_id means the partner token, not a path segment
        with pytest.raises(ThredfiValidationError):
            client.request("GET", "businesses/", business_id=business_id)
    assert hostile.seen == []


@pytest.mark.parametrize("path", ["businesses/../oauth2/token/", "a/./b/", "businesses/?x=1", "a#b"])
def test_paths_may_not_climb_out_or_carry_a_query(hostile, path):
    client = client_for(hostile)
    with pytest.raises(ThredfiValidationError):
        client.request("GET", path)
    assert hostile.seen == []


# ------------------------------------------------------------------ echoed credentials


def test_an_echoed_authorization_header_never_reaches_the_error(hostile):
    client = client_for(hostile)
    basic = base64.b64encode(f"{hostile.partner_id}:{hostile.api_key}".encode()).decode()
    client.request_json("GET", "fine/")  # mint the partner token with Basic auth
    with pytest.raises(ThredfiValidationError) as caught:
        client.request("GET", "echo/")
    text = f"{caught.value} {caught.value.details} {caught.value.to_dict()}"
    assert "Bearer" in str(hostile.seen[-1].authorization)
    for secret in [hostile.api_key, basic, *hostile.tokens]:
        assert secret not in text
    assert basic in client.secrets


def test_an_echoed_basic_header_from_the_token_endpoint_is_redacted(hostile):
    """The partner-token request carries Basic auth; a server echoing it must not leak it."""
    basic = base64.b64encode(f"{hostile.partner_id}:{hostile.api_key}".encode()).decode()
    settings = ClientSettings(
        f"{hostile.base_url}/v1/platform/echo-token", hostile.partner_id, hostile.api_key
    )
    client = ThredfiClient(settings)
    with pytest.raises(ThredfiError) as caught:
        client.request("GET", "businesses/")
    assert "Basic" in str(hostile.seen[-1].authorization)
    text = f"{caught.value} {caught.value.details} {caught.value.to_dict()}"
    # The token endpoint's own refusal, not some other failure: a 401 from the token request.
    assert (type(caught.value), caught.value.status) == (ThredfiAuthError, 401)
    refusal = "who are you? Request had Authorization: Basic *** [HTTP 401] POST /v1/platform/oauth2/token/"
    assert refusal in text  # the header reached the error, scrubbed
    assert basic not in text
    assert hostile.api_key not in text


def test_a_token_no_header_can_carry_is_refused_without_quoting_it(hostile):
    """``requests`` would refuse the header by quoting its value (the token) in its exception."""
    settings = ClientSettings(
        f"{hostile.base_url}/v1/platform/bad-token", hostile.partner_id, hostile.api_key
    )
    with pytest.raises(ThredfiError, match="characters a bearer token cannot carry") as caught:
        ThredfiClient(settings).request("GET", "businesses/")
    assert hostile.tokens
    text = f"{caught.value!r} {caught.value.to_dict()}"
    assert all(token.split("\r")[0] not in text for token in hostile.tokens)
    assert [seen.path for seen in hostile.seen] == ["/v1/platform/bad-token/v1/platform/oauth2/token/"]


def test_a_plain_drf_validation_body_keeps_its_field_paths(hostile):
    client = client_for(hostile)
    with pytest.raises(ThredfiValidationError) as caught:
        client.request("POST", "drf/")
    assert caught.value.details == {
        "line_items[1].unit_price": "A valid integer is required.",
        "customer_id": "This field is required.",
    }
    assert "line_items[1].unit_price: A valid integer is required." in str(caught.value)


def test_https_to_a_plain_http_server_says_so(thredfi_sandbox):
    """``host: https://127.0.0.1:<sandbox port>`` used to fail with a bare ``SSLError``."""
    from thredfi_provider.client.errors import ThredfiConnectionError

    settings = ClientSettings(f"https://127.0.0.1:{thredfi_sandbox.port}", thredfi_sandbox.partner_id,
                              thredfi_sandbox.api_key, max_retries=0)  # fmt: skip
    with pytest.raises(ThredfiConnectionError) as caught:
        ThredfiClient(settings).request("GET", "businesses/")
    message = str(caught.value)
    assert "answered in plain HTTP, not TLS" in message
    assert f"http://127.0.0.1:{thredfi_sandbox.port}" in message
    assert thredfi_sandbox.api_key not in message
