"""The generic operator's query parameters: a readable template field, and the old name still works."""

from __future__ import annotations

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
