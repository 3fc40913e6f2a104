"""Connection parsing: every mistake is named by field, when the connection is read."""

from __future__ import annotations

import json
import logging

import pytest
from airflow.sdk import Connection

from thredfi_provider.client.settings import InsecureURLError
from thredfi_provider.hooks import thredfi as hook_module
from thredfi_provider.hooks.connection import ThredfiConnectionConfigError, settings_from_connection


def conn(host: str = "production", port: int | None = None, extra: object = None) -> Connection:
    raw_extra = extra if isinstance(extra, str) or extra is None else json.dumps(extra)
    return Connection(
        conn_id="thredfi_cfg",
        conn_type="thredfi",
        login="partner",
        password="key-123456",
        host=host,
        port=port,
        extra=raw_extra,
    )


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("http://[::1]", 8080, "http://[::1]:8080"),
        ("::1", 8080, "https://[::1]:8080"),
        ("[::1]", 8443, "https://[::1]:8443"),
        ("http://127.0.0.1", 9000, "http://127.0.0.1:9000"),
        ("http://127.0.0.1:9000", None, "http://127.0.0.1:9000"),
        ("api.example.com", 8443, "https://api.example.com:8443"),
    ],
)
def test_hosts_keep_their_port_ipv6_included(host, port, url):
    assert settings_from_connection(conn(host, port)).base_url == url


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ('{"timeout": 5', "extra"),
        ("[1, 2]", "extra"),
        ({"timeout": 0}, "extra.timeout"),
        ({"timeout": -1}, "extra.timeout"),
        ({"timeout": "thirty"}, "extra.timeout"),
        ({"max_retries": "two"}, "extra.max_retries"),
        ({"max_retries": 1.5}, "extra.max_retries"),
        ({"page_size": 1000}, "extra.page_size"),
        ({"attempt_timeout": 0}, "extra.attempt_timeout"),
        ({"verify": 0}, "extra.verify"),
        ({"verify": "0"}, "extra.verify"),
        ({"verify": "no"}, "extra.verify"),
        ({"verify": "/no/such/ca-bundle.pem"}, "extra.verify"),
        ({"allow_insecure_http": "maybe"}, "extra.allow_insecure_http"),
    ],
)
def test_bad_extras_are_refused_naming_the_connection_and_field(extra, field):
    with pytest.raises(ThredfiConnectionConfigError) as caught:
        settings_from_connection(conn(extra=extra))
    assert caught.value.field == field
    assert "thredfi_cfg" in str(caught.value)
    assert field in str(caught.value)


def test_plain_http_to_a_remote_host_is_refused_naming_the_host_unless_the_extras_allow_it():
    with pytest.raises(InsecureURLError) as caught:
        settings_from_connection(conn("http://thredfi.example.com"))
    assert isinstance(caught.value, ThredfiConnectionConfigError)  # so the task fails without retries
    assert caught.value.field == "host"
    assert "thredfi_cfg" in str(caught.value)
    allowed = settings_from_connection(
        conn("http://thredfi.example.com", extra={"allow_insecure_http": True})
    )
    assert allowed.base_url == "http://thredfi.example.com"


def test_missing_credentials_name_login_and_password():
    empty = Connection(conn_id="c", conn_type="thredfi", host="production")
    with pytest.raises(ThredfiConnectionConfigError) as caught:
        settings_from_connection(empty)
    assert caught.value.field == "login"


def test_verify_is_off_only_when_explicitly_false_and_that_is_logged_each_time(caplog, tmp_path):
    assert settings_from_connection(conn(extra={"verify": True})).verify is True
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert settings_from_connection(conn(extra={"verify": str(bundle)})).verify == str(bundle)
    settings = settings_from_connection(conn(extra={"verify": "false"}))
    assert settings.verify is False
    from thredfi_provider.client.client import ThredfiClient

    with caplog.at_level(logging.WARNING, logger="thredfi_provider.client.client"):
        ThredfiClient(settings).close()
        ThredfiClient(settings).close()
    warnings = [r for r in caplog.records if "verification is OFF" in r.getMessage()]
    assert len(warnings) == 2


def test_the_client_cache_is_bounded_and_closes_what_it_evicts(monkeypatch):
    hook_module.clear_shared_clients()
    closed: list[object] = []
    from thredfi_provider.client.client import ThredfiClient

    monkeypatch.setattr(ThredfiClient, "close", lambda self: closed.append(self))
    clients = [
        hook_module.shared_client(settings_from_connection(conn(extra={"timeout": 1 + n})))
        for n in range(hook_module.MAX_CLIENTS + 3)
    ]
    assert len(hook_module._CLIENTS) == hook_module.MAX_CLIENTS
    assert closed == clients[:3]  # the least recently used, in order
    # a hit moves a client to the back of the line
    again = hook_module.shared_client(clients[3].settings)
    assert again is clients[3]
    hook_module.shared_client(settings_from_connection(conn(extra={"timeout": 99})))
    assert closed[-1] is clients[4]
    hook_module.clear_shared_clients()


def test_building_a_client_does_not_hold_the_cache_lock(monkeypatch):
    """Masking a secret may yield to a triggerer's event loop: never with the lock held."""
    hook_module.clear_shared_clients()
    held: list[bool] = []
    monkeypatch.setattr(hook_module, "mask", lambda secret: held.append(hook_module._CLIENTS_LOCK.locked()))
    hook_module.shared_client(settings_from_connection(conn()))
    assert held, "the client should register its secrets"
    assert not any(held)
    hook_module.clear_shared_clients()


# ------------------------------------------------------------------ one list: form, parser, docs


def test_the_form_the_parser_and_the_docs_name_the_same_extras():
    import re
    from pathlib import Path

    from thredfi_provider.get_provider_info import CONN_FIELDS, UI_FIELD_BEHAVIOUR

    docs = (Path(__file__).parents[2] / "docs" / "connection.md").read_text()
    rows = [line for line in docs.splitlines() if line.startswith("| extra ")]
    documented = {name for row in rows for name in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert documented == set(CONN_FIELDS)
    assert "port" not in UI_FIELD_BEHAVIOUR["hidden-fields"]  # documented, so shown
    assert "| `port` |" in docs


@pytest.mark.parametrize("name", sorted(["timeout", "attempt_timeout", "max_retries", "max_retry_seconds",
                                         "backoff_initial", "backoff_max", "page_size", "pool_size"]))  # fmt: skip
def test_every_numeric_extra_in_the_form_reaches_the_client(name):
    from thredfi_provider.get_provider_info import CONN_FIELDS

    kind = CONN_FIELDS[name]["schema"]["type"]
    value = 7 if "integer" in kind else 7.5
    settings = settings_from_connection(conn(extra={name: value}))
    assert getattr(settings, name) == value


def test_the_text_extras_in_the_form_reach_the_client():
    assert settings_from_connection(
        conn(host="127.0.0.1:8765", extra={"scheme": "http"})
    ).base_url.startswith("http://127.0.0.1:8765")
    assert settings_from_connection(
        conn(host="", extra={"base_url": "https://api.thredfi.com"})
    ).base_url.startswith("https://api.thredfi.com")
    assert settings_from_connection(conn(extra={"verify": False})).verify is False


def test_the_sandboxs_connection_parses_without_airflows_short_secret_warning(
    thredfi_sandbox, monkeypatch, capfd, caplog
):
    """``?scheme=http`` made Airflow log "Skipping masking ... too short" on every parse."""
    from airflow.sdk._shared.secrets_masker.secrets_masker import SecretsMasker

    from thredfi_provider.hooks.thredfi import ThredfiHook

    monkeypatch.setattr(SecretsMasker, "_has_warned_short_secret", False)  # Airflow warns once a process
    for form in (thredfi_sandbox.connection_uri(), thredfi_sandbox.connection_json()):
        monkeypatch.setenv("AIRFLOW_CONN_THREDFI_FORMS", form)
        ok, message = ThredfiHook("thredfi_forms").test_connection()
        assert ok, message
    logged = capfd.readouterr()
    assert "too short" not in logged.out + logged.err + caplog.text


def test_the_sandbox_cli_prints_a_connection_to_paste():
    from thredfi_provider.sandbox.__main__ import connection_help

    text = connection_help('{"conn_type": "thredfi", "host": "http://127.0.0.1:8765"}')
    assert "export AIRFLOW_CONN_THREDFI_DEFAULT='{" in text
    assert "airflow connections add thredfi_default --conn-json '{" in text
