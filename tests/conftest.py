"""Shared test setup: an isolated AIRFLOW_HOME and the fixtures built on the sandbox fixtures.

The sandbox fixtures themselves (``thredfi_sandbox``, ``thredfi_sandbox_factory``,
``thredfi_conn_id``) come from the package's pytest plugin, the same ones users get. Plain
builders (``make_client``, ``onboard``, ``FAST_BACKOFF``, ``DAGS``) live in ``tests.helpers``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_HOME = tempfile.mkdtemp(prefix="thredfi-airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
os.environ.setdefault(
    "AIRFLOW__CORE__DAGS_FOLDER", os.path.join(os.path.dirname(os.path.dirname(__file__)), "dags")
)

from tests.helpers import DAGS, FAST_BACKOFF, make_client, onboard  # ruff: ignore[module-import-not-at-top-of-file]
from thredfi_provider.client.client import ThredfiClient  # ruff: ignore[module-import-not-at-top-of-file]
from thredfi_provider.sandbox.server import SandboxServer  # ruff: ignore[module-import-not-at-top-of-file]

# Airflow's secrets maskers, by the module that holds each (every line has some of them).
_MASKER_MODULES = (
    "airflow.sdk._shared.secrets_masker.secrets_masker",  # the task SDK's (Airflow 3)
    "airflow._shared.secrets_masker.secrets_masker",  # core's, which dag.test()'s supervisor feeds
    "airflow.utils.log.secrets_masker",  # Airflow 2 and 3.0
)


@pytest.fixture(autouse=True)
def _forget_secrets_masked_by_the_test() -> Iterator[None]:
    """Give each test Airflow's secrets maskers as they were before it, as a fresh task process has them.

    Every test that builds a hook masks its sandbox's key (each test's sandbox has a new one), and
    a masker recompiles one regular expression of all it holds on each new secret: kept for the
    session, the last tests paid for all the first ones'. Tests of masking mask in the test.
    """
    saved = []
    for name in _MASKER_MODULES:
        getter = getattr(sys.modules.get(name), "_secrets_masker", None)
        masker = getter() if callable(getter) else None
        if isinstance(getattr(masker, "patterns", None), set):
            saved.append((masker, set(masker.patterns), getattr(masker, "replacer", None)))
    yield
    for masker, patterns, replacer in saved:
        masker.patterns = patterns
        masker.replacer = replacer


@pytest.fixture
def client(thredfi_sandbox: SandboxServer) -> ThredfiClient:
    return make_client(thredfi_sandbox)


@pytest.fixture
def client_factory() -> Callable[..., ThredfiClient]:
    return make_client


@pytest.fixture
def seeded(thredfi_sandbox, thredfi_conn_id):
    """A business with two customers and a vendor, made through the client."""
    client = make_client(thredfi_sandbox)
    business_id = onboard(client, "acme")
    for n in (1, 2):
        client.create(business_id, "customers", {"external_id": f"cust-{n}", "company_name": f"Customer {n}"})
    client.create(business_id, "vendors", {"external_id": "vend-1", "company_name": "Vendor 1"})
    return business_id


@pytest.fixture
def unpaid(thredfi_sandbox, thredfi_conn_id, seeded):
    """``seeded`` with one unpaid invoice, ``inv-1`` of 700: what the sensor and trigger suites wait on."""
    from tests.helpers.operators import invoice, run
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=seeded, records=[invoice(1, cents=700)]))
    return seeded


@pytest.fixture
def example_app_db(tmp_path, monkeypatch) -> Path:
    """The example DAGs' "your application" database, seeded, with its connection and export root."""
    sys.path.insert(0, str(DAGS))  # as Airflow puts the DAGs folder on sys.path
    import thredfi_example_source

    path = tmp_path / "app.db"
    thredfi_example_source.seed(str(path))
    monkeypatch.setenv(
        "AIRFLOW_CONN_THREDFI_EXAMPLE_APP", json.dumps({"conn_type": "sqlite", "host": str(path)})
    )
    monkeypatch.setenv("THREDFI_EXAMPLE_EXPORT_ROOT", str(tmp_path / "ledger"))
    return path


@pytest.fixture
def fast_conn(monkeypatch):
    """Point ``thredfi_default`` at a sandbox with fast backoff: ``fast_conn(sandbox)``."""

    def point(sandbox: SandboxServer) -> str:
        monkeypatch.setenv("AIRFLOW_CONN_THREDFI_DEFAULT", sandbox.connection_uri() + FAST_BACKOFF)
        return "thredfi_default"

    return point


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """The session's Airflow metadata database, migrated once (``dag.test()`` needs its tables)."""
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, timeout=300)
