"""The generic operator's query parameters: a readable template field, and the old name still works."""

from __future__ import annotations

import pytest

from tests.operators.conftest import run
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


def test_the_old_params_argument_warns_and_still_sends_the_query(thredfi_sandbox, thredfi_conn_id, seeded):
    with pytest.warns(DeprecationWarning, match="query_params"):
        op = ThredfiOperator(
            task_id="g", path=f"businesses/{seeded}/customers/", business_id=seeded, params={"page_size": 1}
        )
    body, _ = run(op)
    assert len(body["results"]) == 1
