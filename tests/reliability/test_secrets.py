"""Secrets stay secret: the API key and every token the sandbox minted are absent from task logs
(at DEBUG, urllib3 included), XCom values, rendered template fields, the trigger's serialised
kwargs and every exception's text and traceback, in runs where calls succeed and fail."""

from __future__ import annotations

import base64
import json
import logging
import traceback
from typing import Any
from urllib.parse import quote

import pytest
from airflow.sdk.exceptions import TaskDeferred

from tests.helpers.operators import run
from tests.helpers.reliability import business_with_customers, invoice_records, payment_records
from thredfi_provider.sandbox.config import FaultConfig

WRONG_KEY = "another-wrong-key-1234"


def _secrets(sandbox) -> list[str]:
    basic = base64.b64encode(f"{sandbox.partner_id}:{sandbox.api_key}".encode()).decode()
    tokens = sandbox.issued_tokens
    assert tokens, "the run must have minted tokens to look for"
    # A JWT's signature alone is a secret too: look for the last segment as well as the whole.
    return [sandbox.api_key, basic, *tokens, *(t.rsplit(".", 1)[-1] for t in tokens)]


def _leaks(text: str, secrets: list[str]) -> list[str]:
    return [s[:12] + "..." for s in secrets if s and s in text]


@pytest.fixture
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests", "thredfi_provider", "airflow", "tenacity"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    return caplog


def test_no_secret_reaches_logs_xcom_templates_triggers_or_exceptions(
    thredfi_sandbox, fast_conn, debug_logs, capfd, monkeypatch
):
    from thredfi_provider.hooks.thredfi import ThredfiHook
    from thredfi_provider.operators.generic import ThredfiOperator
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
    from thredfi_provider.operators.payments import ThredfiSyncPaymentsOperator
    from thredfi_provider.sensors.resource import ThredfiResourceSensor

    business_id = business_with_customers(thredfi_sandbox)
    fast_conn(thredfi_sandbox)
    outputs: list[Any] = []  # XCom values and return values
    errors: list[BaseException] = []

    def attempt(operator, **context: Any) -> None:
        try:
            result, ti = run(operator, **context)
            outputs.extend([result, ti.xcom])
        except BaseException as exc:
            errors.append(exc)

    # Calls that succeed.
    attempt(ThredfiSyncInvoicesOperator(task_id="inv", business_id=business_id, records=invoice_records(20)))
    attempt(ThredfiSyncPaymentsOperator(task_id="pay", business_id=business_id, records=payment_records(5)))
    # A permanent failure from the server (403: a partner endpoint with another business's path).
    attempt(ThredfiOperator(task_id="forbidden", path=f"businesses/{business_id}/", business_id=business_id))
    # A key the server refuses (401): the wrong key is a secret too.
    monkeypatch.setenv("AIRFLOW_CONN_THREDFI_WRONG_KEY", thredfi_sandbox.connection_uri().replace(
        quote(thredfi_sandbox.api_key, safe=""), WRONG_KEY))  # fmt: skip
    attempt(ThredfiOperator(task_id="refused", path="businesses/", thredfi_conn_id="thredfi_wrong_key"))
    # A 400 from the server, echoed back in the error.
    attempt(ThredfiOperator(task_id="bad", method="POST", path=f"businesses/{business_id}/customers/",
                            business_id=business_id, json={"external_id": "c-x", "email": "nope"}))  # fmt: skip
    # Transient faults that outlast every retry, each quoting the request's Authorization header back.
    thredfi_sandbox.set_faults(
        FaultConfig(error_rate=1.0, include_token_endpoints=False, echo_authorization=True)
    )
    attempt(
        ThredfiSyncInvoicesOperator(
            task_id="down", business_id=business_id, records=invoice_records(3, "later")
        )
    )
    thredfi_sandbox.set_faults(FaultConfig())
    # Tokens expired and re-minted, so there are several generations of tokens to look for.
    thredfi_sandbox.expire_tokens()
    attempt(ThredfiOperator(task_id="list", path=f"businesses/{business_id}/invoices/", business_id=business_id,
                            paginate=True))  # fmt: skip
    # The deferrable sensor: what it hands the triggerer.
    sensor = ThredfiResourceSensor(task_id="wait", resource="invoice", business_id=business_id,
                                   external_id="inv-19", condition={"status": ["paid"]}, deferrable=True)  # fmt: skip
    with pytest.raises(TaskDeferred) as deferred:
        run(sensor)
    trigger_kwargs = json.dumps(deferred.value.trigger.serialize())
    # Template rendering of every operator's template fields.
    rendered: list[str] = []
    for operator in (
        ThredfiOperator(
            task_id="t",
            path="businesses/{{ params.b }}/invoices/",
            business_id="{{ params.b }}",
            json={"memo": "{{ ds }}"},
            params={"b": business_id},
        ),
        ThredfiSyncInvoicesOperator(
            task_id="r", business_id="{{ params.b }}", records=invoice_records(1), params={"b": business_id}
        ),
    ):
        operator.render_template_fields({"params": {"b": business_id}, "ds": "2024-03-01"})
        rendered.append(json.dumps({f: getattr(operator, f) for f in operator.template_fields}, default=str))

    assert len(errors) == 4, errors  # forbidden, refused, bad, down
    wrong_basic = base64.b64encode(f"{thredfi_sandbox.partner_id}:{WRONG_KEY}".encode()).decode()
    secrets = [*_secrets(thredfi_sandbox), WRONG_KEY, wrong_basic]
    captured = capfd.readouterr()
    places = {
        "log records": debug_logs.text + "\n".join(str(r.args) for r in debug_logs.records),
        "stdout/stderr": captured.out + captured.err,
        "xcom": json.dumps(outputs, default=str),
        "trigger kwargs": trigger_kwargs,
        "rendered templates": "\n".join(rendered),
        "exceptions": "\n".join("".join(traceback.format_exception(e)) + repr(e) for e in errors),
        "client settings": repr(ThredfiHook().get_conn().settings)
        + repr(ThredfiHook("thredfi_wrong_key").settings),
    }
    # The search means something only if the HTTP calls were logged at DEBUG (urllib3's own lines;
    # the warnings on stderr quote request paths at any level) and the echoed header reached a log line.
    debug_http = [r for r in debug_logs.records if r.name == "urllib3.connectionpool" and r.levelno == logging.DEBUG
                  and "GET /v1/platform" in r.getMessage()]  # fmt: skip
    assert debug_http, "DEBUG logging of HTTP calls must be on for this test to mean anything"
    assert "Request had Authorization: Bearer ***" in places["log records"]
    leaks = {where: found for where, text in places.items() if (found := _leaks(text, secrets))}
    assert leaks == {}


def test_the_leak_search_would_find_a_token(thredfi_sandbox, fast_conn):
    """The search above is not vacuous: a token that does reach a log line is found."""
    from thredfi_provider.hooks.thredfi import ThredfiHook

    business_with_customers(thredfi_sandbox)
    fast_conn(thredfi_sandbox)
    token = (
        ThredfiHook()
        .get_conn()
        .business_token(
            next(b["id"] for b in thredfi_sandbox.state.store.all("businesses", thredfi_sandbox.partner_id))
        )
    )
    assert _leaks(f"oops Authorization: Bearer {token}", _secrets(thredfi_sandbox))
