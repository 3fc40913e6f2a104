"""SandboxServer.reset and the pytest plugin's reuse of servers: a reused sandbox is a clean one.

The plugin hands the servers a test used to the next test, reset, instead of building new
ones; these tests hold it to "as a new server would be": nothing a test left behind is seen.
"""

from __future__ import annotations

import pytest
import requests

from tests.helpers import make_client, onboard
from tests.helpers.sandbox_http import API
from thredfi_provider.client.errors import ThredfiAuthError
from thredfi_provider.sandbox.config import FaultConfig, SandboxConfig
from thredfi_provider.sandbox.pytest_plugin import _Idle
from thredfi_provider.sandbox.server import SandboxServer

PARTNER = "3f1c2b7a-9d4e-4c1a-8b2f-6e5d4c3b2a10"


def _leave_a_mess(sandbox: SandboxServer) -> tuple[str, str]:
    """Records, an idempotency key, tokens, counters and faults; returns (business id, its token)."""
    client = make_client(sandbox)
    business_id = onboard(client)
    customer_id = client.create(business_id, "customers", {"external_id": "c", "company_name": "C"}).record[
        "id"
    ]
    invoice = {"external_id": "i", "customer_id": customer_id, "sent_at": "2024-03-01", "due_at": "2024-03-31",
               "line_items": [{"description": "Work", "quantity": 1, "unit_price_cents": 500, "account_code": "4000"}]}  # fmt: skip
    invoice_id = client.create(business_id, "invoices", invoice).record["id"]
    payment = {"amount_cents": 500, "payment_date": "2024-03-05",
               "allocations": [{"invoice_id": invoice_id, "amount_cents": 500}]}  # fmt: skip
    client.create(business_id, "invoices/payments", payment, idempotency_key="pay-key")
    sandbox.set_faults(error_rate=1.0, seed=3)
    return business_id, client.business_token(business_id)


def _assert_clean(sandbox: SandboxServer) -> None:
    assert sandbox.state.store.all("businesses", sandbox.partner_id) == []
    assert sandbox.state.store.idempotency == {}
    assert sandbox.state.store.count("journal_entries") == 0
    assert sandbox.issued_tokens == []
    assert dict(sandbox.state.counters) == {}
    assert sandbox.app.state.faults.config == FaultConfig()


def test_reset_forgets_records_keys_tokens_counters_and_faults(thredfi_sandbox):
    _leave_a_mess(thredfi_sandbox)
    port, api_key = thredfi_sandbox.port, thredfi_sandbox.api_key
    thredfi_sandbox.reset()
    _assert_clean(thredfi_sandbox)
    assert (thredfi_sandbox.port, thredfi_sandbox.api_key) == (port, api_key)
    assert list(make_client(thredfi_sandbox).list_businesses()) == []
    assert thredfi_sandbox.counter("requests") >= 1  # counting again from zero


def test_a_token_issued_before_a_reset_is_refused(thredfi_sandbox):
    business_id, token = _leave_a_mess(thredfi_sandbox)
    thredfi_sandbox.reset()
    r = requests.get(
        f"{thredfi_sandbox.base_url}{API}/businesses/{business_id}/customers/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert (r.status_code, r.json()["error_code"]) == (401, "invalid_token")


def test_reset_with_a_config_takes_its_keys_and_settings(thredfi_sandbox):
    old = make_client(thredfi_sandbox)
    onboard(old)
    thredfi_sandbox.reset(SandboxConfig(partners={"p-2": "key-after-reset"}, pagination="next"))
    assert (thredfi_sandbox.partner_id, thredfi_sandbox.api_key) == ("p-2", "key-after-reset")
    with pytest.raises(ThredfiAuthError):
        list(make_client(thredfi_sandbox, api_key=old.settings.api_key).list_businesses())
    page = requests.get(
        f"{thredfi_sandbox.base_url}{API}/businesses/",
        headers={"Authorization": f"Bearer {_partner_token(thredfi_sandbox)}"},
        timeout=5,
    ).json()
    assert ("next" in page, "page_info" in page) == (True, False)


def _partner_token(sandbox: SandboxServer) -> str:
    r = requests.post(
        f"{sandbox.base_url}{API}/oauth2/token/",
        auth=(sandbox.partner_id, sandbox.api_key),
        data={"grant_type": "client_credentials"},
        timeout=5,
    )
    r.raise_for_status()
    return r.json()["access_token"]


def test_reset_cannot_switch_strict_mode(thredfi_sandbox):
    with pytest.raises(ValueError, match="strict"):
        thredfi_sandbox.reset(SandboxConfig(strict=True))
    assert thredfi_sandbox.config.strict is False


def test_the_plugin_hands_the_next_test_the_same_server_reset_with_a_new_key():
    idle = _Idle()
    first = idle.take(SandboxConfig(partners={PARTNER: "sk_first_test_key"}))
    try:
        _leave_a_mess(first)
        idle.give_back(first)
        second = idle.take(SandboxConfig(partners={PARTNER: "sk_second_test_key"}))
        assert second is first
        _assert_clean(second)
        assert second.api_key == "sk_second_test_key"
        with pytest.raises(ThredfiAuthError):
            list(make_client(second, api_key="sk_first_test_key").list_businesses())
    finally:
        first.stop()
        idle.stop_all()


def test_the_plugin_builds_a_server_for_another_strict_mode_a_db_path_or_a_stopped_one(tmp_path):
    idle = _Idle()
    default = idle.take(SandboxConfig())
    idle.give_back(default)
    strict = idle.take(SandboxConfig(strict=True))
    persisted = idle.take(SandboxConfig(db_path=str(tmp_path / "sandbox.db")))
    servers = [default, strict, persisted]
    try:
        assert strict is not default
        assert strict.config.strict
        assert persisted is not default
        again = idle.take(SandboxConfig())
        assert again is default
        again.stop()
        idle.give_back(again)
        fresh = idle.take(SandboxConfig())
        servers.append(fresh)
        assert fresh is not default
        assert fresh.running
    finally:
        for server in servers:
            if server.running:
                server.stop()
        idle.stop_all()


_SEEN: dict[str, object] = {}


def test_a_test_that_leaves_a_mess_behind(thredfi_sandbox):
    _leave_a_mess(thredfi_sandbox)
    _SEEN.update(api_key=thredfi_sandbox.api_key, signing_key=thredfi_sandbox.config.signing_key)


def test_the_next_test_gets_a_clean_sandbox_with_new_secrets(thredfi_sandbox):
    _assert_clean(thredfi_sandbox)
    if _SEEN:  # run after the test above (file order): whether or not its server came back
        assert thredfi_sandbox.api_key != _SEEN["api_key"]
        assert thredfi_sandbox.config.signing_key != _SEEN["signing_key"]
