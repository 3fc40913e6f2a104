"""ThredfiHook: connection forms, test_connection, secret masking."""

from __future__ import annotations

import base64
import json

import pytest

from thredfi_provider.hooks import thredfi as hook_module
from thredfi_provider.hooks.thredfi import ThredfiHook


@pytest.mark.parametrize("form", ["uri", "json"])
def test_hook_reads_connection_from_env_in_uri_and_json_form(thredfi_sandbox, monkeypatch, form):
    value = thredfi_sandbox.connection_uri() if form == "uri" else thredfi_sandbox.connection_json()
    monkeypatch.setenv("AIRFLOW_CONN_THREDFI_DEFAULT", value)
    hook = ThredfiHook()
    assert hook.settings.base_url == thredfi_sandbox.base_url
    assert hook.settings.partner_id == thredfi_sandbox.partner_id
    ok, message = hook.test_connection()
    assert ok, message
    assert thredfi_sandbox.base_url in message


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("production", "https://backend.thredfi.com"),
        ("staging", "https://staging-backend.thredfi.com"),
        ("development", "https://dev-backend.thredfi.com"),
        ("sandbox", "https://sandbox.thredfi.com"),
        ("api.example.com", "https://api.example.com"),
    ],
)
def test_environment_names_map_to_published_hosts(monkeypatch, host, url):
    conn = {"conn_type": "thredfi", "login": "partner", "password": "key-123456", "host": host}
    monkeypatch.setenv("AIRFLOW_CONN_THREDFI_ENV", json.dumps(conn))
    assert ThredfiHook("thredfi_env").settings.base_url == url


def test_extras_tune_the_client(monkeypatch):
    extra = {"timeout": "12", "max_retries": 2, "page_size": 50, "verify": "false"}
    conn = {
        "conn_type": "thredfi",
        "login": "p",
        "password": "key-123456",
        "host": "production",
        "extra": extra,
    }
    monkeypatch.setenv("AIRFLOW_CONN_THREDFI_X", json.dumps(conn))
    settings = ThredfiHook("thredfi_x").settings
    assert (settings.timeout, settings.max_retries, settings.page_size, settings.verify) == (
        12.0,
        2,
        50,
        False,
    )


def test_test_connection_reports_bad_credentials_without_the_key(thredfi_sandbox, monkeypatch):
    conn = json.loads(thredfi_sandbox.connection_json())
    conn["password"] = "definitely-wrong-key-42"
    monkeypatch.setenv("AIRFLOW_CONN_THREDFI_BAD", json.dumps(conn))
    ok, message = ThredfiHook("thredfi_bad").test_connection()
    assert not ok
    assert "401" in message
    assert "definitely-wrong-key-42" not in message


def test_the_masker_holds_the_key_and_its_basic_form_not_a_secret_per_token(thredfi_sandbox, thredfi_conn_id):
    """Airflow's masker rebuilds one regex over all it holds on every addition: a secret per
    business token made a task over N businesses cost N squared. It gets two per connection."""
    from airflow.sdk.log import _secrets_masker

    hook_module.clear_shared_clients()
    masker = _secrets_masker()
    client = ThredfiHook(thredfi_conn_id).get_conn()
    business_ids = []
    for n in range(12):
        business = client.create_business(
            {"external_id": f"m-{n}", "legal_name": "M", "entity_type": "limited", "email": "m@example.com"}
        )
        business_ids.append(business.record["id"])
    list(client.list_records(business_ids[0], "customers"))
    after_one = set(masker.patterns)  # the connection, the key, its Basic form: once
    for business_id in business_ids[1:]:
        list(client.list_records(business_id, "customers"))
    basic = base64.b64encode(f"{thredfi_sandbox.partner_id}:{thredfi_sandbox.api_key}".encode()).decode()
    assert client.secrets == {thredfi_sandbox.api_key, basic}
    assert set(masker.patterns) == after_one, "one masker entry per business token is back"
    assert len(thredfi_sandbox.issued_tokens) >= 13  # a partner token and one per business were minted
    for secret in client.secrets:
        assert secret not in str(masker.redact(f"value={secret}"))
    hook_module.clear_shared_clients()


def test_hooks_share_one_client_per_connection(thredfi_sandbox, thredfi_conn_id):
    assert ThredfiHook(thredfi_conn_id).get_conn() is ThredfiHook(thredfi_conn_id).get_conn()
