"""Tokens that expire or are revoked mid-run; tokens that must never cross businesses; transport rules."""

from __future__ import annotations

import os
import threading
import time

import pytest

from tests.helpers import make_client, onboard
from tests.helpers.operators import run
from tests.helpers.reliability import business_with_customers, invoice_records, ledger_state
from thredfi_provider.client.settings import ClientSettings, InsecureURLError, resolve_base_url


def _during_sync(sandbox, business_id: str, when: int, action) -> None:
    """Fire ``action`` once ``when`` invoices have landed, while the sync is still running."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while len(sandbox.records("invoices", business_id)) < when and time.monotonic() < deadline:
            time.sleep(0.005)
        action()

    threading.Thread(target=watch, daemon=True).start()


@pytest.mark.parametrize("event", ["expire_all", "revoke_business"])
def test_token_expired_or_revoked_mid_run_does_not_fail_the_run(thredfi_sandbox, fast_conn, event):
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

    n = 400
    business_id = business_with_customers(thredfi_sandbox)
    fast_conn(thredfi_sandbox)
    thredfi_sandbox.set_faults(latency_seconds=0.005)
    revoked: list[int] = []
    action = (
        thredfi_sandbox.expire_tokens
        if event == "expire_all"
        else lambda: revoked.append(thredfi_sandbox.revoke_tokens(business_id))
    )
    tokens_before = thredfi_sandbox.counter("business_token")
    _during_sync(thredfi_sandbox, business_id, n // 3, action)

    summary, _ = run(
        ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=invoice_records(n))
    )

    assert summary["created"] == n
    assert summary["failed"] == []
    assert len(ledger_state(thredfi_sandbox, business_id)["invoices"]) == n
    # The run really met the event: a fresh business token was minted after it.
    assert thredfi_sandbox.counter("business_token") > tokens_before + 1
    assert thredfi_sandbox.counter("status_401") >= 1
    if event == "revoke_business":
        assert revoked
        assert revoked[0] >= 1


def test_a_business_token_never_reaches_another_business(thredfi_sandbox, fast_conn):
    """Interleave two businesses over 8 threads; the sandbox refuses (403) any token on a foreign
    business's URL, so one misrouted token fails this test."""
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

    first = business_with_customers(thredfi_sandbox, "first")
    second = business_with_customers(thredfi_sandbox, "second")
    fast_conn(thredfi_sandbox)
    records = [
        {**record, "business_id": (first, second)[i % 2]} for i, record in enumerate(invoice_records(300))
    ]
    summary, _ = run(ThredfiSyncInvoicesOperator(task_id="s", records=records, max_workers=8))
    assert summary["created"] == 300
    assert thredfi_sandbox.state.counters.get("status_403", 0) == 0
    assert len(thredfi_sandbox.records("invoices", first)) == 150
    assert len(thredfi_sandbox.records("invoices", second)) == 150


def test_a_misrouted_business_token_is_caught_by_the_sandbox(thredfi_sandbox):
    """The property above can fail: a business token sent to another business's URL is a 403."""
    from thredfi_provider.client.errors import ThredfiPermissionError

    client = make_client(thredfi_sandbox)
    first, second = onboard(client, "first"), onboard(client, "second")
    token = client.business_token(first)
    with pytest.raises(ThredfiPermissionError):
        client.request("GET", f"businesses/{second}/invoices/", headers={"Authorization": f"Bearer {token}"})
    assert thredfi_sandbox.state.counters["status_403"] == 1


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8765", True),
        ("http://localhost:8765", True),
        ("http://[::1]:8765", True),
        ("http://thredfi.example.com", False),
        ("http://thredfi.internal.example", False),
        ("http://proxy.internal", False),
        ("http://10.0.0.5", False),
        ("https://backend.thredfi.com", True),
    ],
)
def test_plain_http_only_to_loopback_unless_explicitly_allowed(url, allowed):
    """The one rule, for every host (a connection's ``host``: ``tests/hooks/test_connection_config.py``)."""
    if allowed:
        assert resolve_base_url(url) == url
    else:
        with pytest.raises(InsecureURLError, match="http"):
            resolve_base_url(url)
        assert resolve_base_url(url, allow_insecure_http=True) == url


def test_tls_verification_is_on_by_default():
    from thredfi_provider.client.client import ThredfiClient

    settings = ClientSettings("https://backend.thredfi.com", "partner", "key")
    assert settings.verify is True
    verify = ThredfiClient(settings).transport.session.verify
    # True, or the CA bundle the environment names, exactly as requests would pick it
    # (each variable on its own: tests/client/test_proxies.py)
    expected = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    assert verify == expected, verify
