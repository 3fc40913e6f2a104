"""The generic operator's query parameters: a readable template field, and the old name still works."""

from __future__ import annotations

import json

import pytest

from tests.helpers.operators import run
from thredfi_provider.operators.generic import ThredfiOperator


def test_query_params_reach_the_server(thredfi_sandbox, thredfi_conn_id, seeded):
    op = ThredfiOperator(
        task_id="g", path=f"businesses/{seeded}/customers/", business_id=seeded, query_params={"page_size": 1}
    )
    body, _ = run(op)
    assert body["count"] == 2
    assert len(body["results"]) == 1  # the page size was sent


def test_query_params_is_a_readable_template_field():
    assert "query_params" in ThredfiOperator.template_fields
    assert not [name for name in ThredfiOperator.template_fields if name.endswith("_")]


def test_a_dags_params_are_airflows_and_never_sent_as_a_query(thredfi_sandbox, thredfi_conn_id, seeded):
    """Airflow hands every operator its DAG's params as ``params``: they are not Thredfi's query."""
    from airflow.sdk import DAG

    with DAG("generic_params", params={"page_size": 1}, schedule=None):
        op = ThredfiOperator(task_id="g", path=f"businesses/{seeded}/customers/", business_id=seeded)
    assert op.query_params == {}
    assert op.params["page_size"] == 1  # still Airflow's, for templates
    body, _ = run(op)
    assert len(body["results"]) == 2  # no page_size reached the server


# ------------------------------------------------------------------ what HttpOperator users expect


def test_headers_are_templated_and_sent_beside_the_providers_token(monkeypatch):
    from tests.helpers.hostile_server import HostileServer

    hostile = HostileServer().start()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_THREDFI_HOSTILE", json.dumps(
            {"conn_type": "thredfi", "login": hostile.partner_id, "password": hostile.api_key, "host": hostile.base_url}
        ))  # fmt: skip
        op = ThredfiOperator(task_id="h", path="fine/", thredfi_conn_id="thredfi_hostile",
                             headers={"X-Request-Source": "{{ ds }}"})  # fmt: skip
        op.render_template_fields({"ds": "2024-03-01"})
        body, _ = run(op)
    finally:
        hostile.stop()
    assert body == {"ok": True}
    call = hostile.seen[-1]
    assert call.headers.get("X-Request-Source") == "2024-03-01"
    assert call.authorization == f"Bearer {hostile.tokens[-1]}"


@pytest.mark.parametrize("name", ["Authorization", "authorization", "Content-Length"])
def test_headers_may_not_replace_the_providers_own(thredfi_sandbox, thredfi_conn_id, seeded, name):
    before = thredfi_sandbox.counter("requests")
    op = ThredfiOperator(task_id="h", path=f"businesses/{seeded}/customers/", business_id=seeded,
                         headers={name: "Bearer someone-elses"})  # fmt: skip
    with pytest.raises(ValueError, match=f"headers may not set {name}"):
        run(op)
    assert thredfi_sandbox.counter("requests") == before


def test_the_token_endpoints_are_refused(thredfi_sandbox, thredfi_conn_id):
    before = thredfi_sandbox.counter("requests")
    with pytest.raises(ValueError, match="token endpoints are the client's own"):
        run(ThredfiOperator(task_id="t", method="POST", path="oauth2/token/"))
    assert thredfi_sandbox.counter("requests") == before


def test_response_check_false_fails_the_task(thredfi_sandbox, thredfi_conn_id, seeded):
    from thredfi_provider.compat import AirflowException

    seen = []

    def check(response, dag_run):  # names a context key, as HttpOperator's checks may
        seen.append((response.status_code, dag_run.run_after.year))
        return response.json()["count"] > 5

    op = ThredfiOperator(task_id="c", path=f"businesses/{seeded}/customers/", business_id=seeded,
                         response_check=check)  # fmt: skip
    with pytest.raises(AirflowException, match="Response check returned False"):
        run(op)
    assert seen == [(200, 2024)]
    ok = ThredfiOperator(task_id="ok", path=f"businesses/{seeded}/customers/", business_id=seeded,
                         response_check=lambda response: response.json()["count"] == 2)  # fmt: skip
    body, _ = run(ok)
    assert body["count"] == 2


def test_response_filter_is_what_the_task_returns(thredfi_sandbox, thredfi_conn_id, seeded):
    op = ThredfiOperator(task_id="f", path=f"businesses/{seeded}/customers/", business_id=seeded,
                         response_filter=lambda response: sorted(c["external_id"] for c in response.json()["results"]))  # fmt: skip
    ids, _ = run(op)
    assert ids == sorted(c["external_id"] for c in thredfi_sandbox.records("customers", seeded))


def test_log_response_logs_the_body(thredfi_sandbox, thredfi_conn_id, seeded, capfd):
    """The operator's own logger (``airflow.task.operators``) writes to the task log, here stdout."""
    run(
        ThredfiOperator(
            task_id="l", path=f"businesses/{seeded}/customers/", business_id=seeded, log_response=True
        )
    )
    logged = capfd.readouterr()
    assert "answered 200" in logged.out + logged.err
    assert '"count":2' in logged.out + logged.err
    run(ThredfiOperator(task_id="q", path=f"businesses/{seeded}/customers/", business_id=seeded))
    logged = capfd.readouterr()
    assert "answered 200" not in logged.out + logged.err


def test_a_check_or_filter_with_paginate_is_refused_at_parse_time():
    with pytest.raises(ValueError, match="with paginate=True"):
        ThredfiOperator(task_id="p", path="businesses/", paginate=True, response_check=lambda r: True)
