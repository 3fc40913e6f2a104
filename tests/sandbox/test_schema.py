"""schemathesis against the sandbox's published OpenAPI schema, over HTTP: no server errors."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.helpers import make_client, onboard
from thredfi_provider.sandbox.config import SandboxConfig
from thredfi_provider.sandbox.server import SandboxServer

_SANDBOX = SandboxServer(SandboxConfig(partners={"schema-partner": "schema-key-123456"})).start()
_CLIENT = make_client(_SANDBOX)
_BUSINESS = onboard(_CLIENT, "schema-biz")
_CLIENT.create(_BUSINESS, "customers", {"external_id": "c", "company_name": "C"})
schema = schemathesis.openapi.from_url(_SANDBOX.base_url + "/openapi.json")


@pytest.fixture(scope="module", autouse=True)
def _stop_sandbox():
    yield
    _SANDBOX.stop()


def test_openapi_schema_is_served_and_lists_the_api():
    paths = schema.raw_schema["paths"]
    assert "/v1/platform/businesses/{business_id}/invoices/" in paths
    assert not any(p.startswith("/_sandbox") for p in paths)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    if "business_id" in (case.path_parameters or {}):
        case.path_parameters["business_id"] = _BUSINESS
        token = _CLIENT.business_token(_BUSINESS)
    else:
        token = _CLIENT.requestor.tokens.get("__partner__")
    headers = {} if case.path.endswith("/oauth2/token/") else {"Authorization": f"Bearer {token}"}
    case.call_and_validate(headers=headers, checks=[not_a_server_error])
