"""The core suite ``make test-compat`` runs on every supported Airflow line (2.11, 3.0 to 3.3).

Each check here must pass on every line, so it imports Airflow only through
``thredfi_provider.compat`` and talks HTTP to a real sandbox: the hook and ``test_connection``,
every batch operator once through ``dag.test()`` (one DAG, one run, a check per operator), the
sensor deferred into its trigger, the connection form, and (in ``test_provider_info.py``) the
provider-info schema and ``airflow providers list``. The marker ``compat`` selects them; the
script ``scripts/compat.py`` runs them in one venv per line and prints a version x check table.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import make_client, onboard
from thredfi_provider import compat
from thredfi_provider.sandbox.config import SandboxConfig
from thredfi_provider.sandbox.server import SandboxServer

pytestmark = pytest.mark.compat

PARTNER = "3f1c2b7a-9d4e-4c1a-8b2f-6e5d4c3b2a10"
COMPAT_DAGS = Path(__file__).resolve().parent / "compat_dags"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """One sandbox for the module (one ``dag.test()`` run feeds many checks)."""
    server = SandboxServer(SandboxConfig(partners={PARTNER: "sk_compat_key_0123456789abcdef"})).start()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_CONN_THREDFI_DEFAULT", server.connection_uri())
        yield server
    server.stop()


@pytest.fixture(scope="module")
def business(sandbox: SandboxServer) -> str:
    return onboard(make_client(sandbox), "compat")


@pytest.fixture(scope="module")
def compat_dags(business: str, tmp_path_factory: Any) -> Iterator[Any]:
    """The module of ``tests/compat_dags``, its folder made Airflow's DAGs folder for this module.

    Airflow 3 runs ``dag.test()`` only for a DAG its bundle parses, so the DAGs live in a file.
    """
    ledger = tmp_path_factory.mktemp("ledger") / "ledger.jsonl"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(COMPAT_DAGS))
        # Airflow 3 fixes the dags-folder bundle's path at import; a bundle of its own is read per run.
        bundle = {"name": "thredfi-compat", "kwargs": {"path": str(COMPAT_DAGS), "refresh_interval": 0},
                  "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle"}  # fmt: skip
        mp.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([bundle]))
        # 3.2's in-process execution API (dag.test) signs tokens even in tests; 3.3 stubs that out.
        mp.setenv("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(32))
        if not compat.HAS_ASSETS:  # 2.11's test config names LocalExecutor, which refuses SQLite
            mp.setenv("AIRFLOW__CORE__EXECUTOR", "SequentialExecutor")
        mp.setenv("THREDFI_COMPAT_BUSINESS", business)
        mp.setenv("THREDFI_COMPAT_LEDGER", str(ledger))
        mp.syspath_prepend(str(COMPAT_DAGS))
        sys.modules.pop("thredfi_compat_dags", None)
        import thredfi_compat_dags

        yield thredfi_compat_dags
        sys.modules.pop("thredfi_compat_dags", None)


@pytest.fixture(scope="module")
def airflow_db(compat_dags: Any) -> None:
    airflow = Path(sys.executable).with_name("airflow")
    out = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]


def _state(run: Any) -> str:
    return str(getattr(run, "state", run))


@pytest.fixture(scope="module")
def batch_run(airflow_db: None, compat_dags: Any) -> dict[str, Any]:
    """Every batch operator and the ledger export as tasks of one DAG, run once by ``dag.test()``."""
    return {"state": _state(compat_dags.batch_dag.test()), "ledger": Path(compat_dags.LEDGER)}


@pytest.mark.parametrize(
    "task_id", ["businesses", "customers", "vendors", "invoices", "payments", "bills", "bill_payments"]
)
def test_batch_operator_through_dag_test(batch_run, compat_dags, sandbox, business, task_id):
    _, _, kind, records = compat_dags.BATCH[task_id]
    held = sandbox.records(kind, PARTNER) if task_id == "businesses" else sandbox.records(kind, business)
    assert {r["external_id"] for r in records} <= {r.get("external_id") for r in held}, task_id
    assert batch_run["state"].endswith("success")


def test_ledger_export_through_dag_test(batch_run):
    assert batch_run["ledger"].exists()
    assert batch_run["state"].endswith("success")


def test_hook_and_test_connection(sandbox, business):
    from thredfi_provider.hooks.thredfi import ThredfiHook, clear_shared_clients

    clear_shared_clients()
    hook = ThredfiHook()
    ok, message = hook.test_connection()
    assert ok, message
    assert "some businesses visible" in message
    assert hook.get_conn().get_business(business)["id"] == business
    # The trigger's path: the connection read asynchronously, on every line.
    client = asyncio.run(ThredfiHook().aget_conn())
    assert client is hook.get_conn()
    clear_shared_clients()
    bad = sandbox.connection_uri().replace("sk_compat_key", "sk_wrong_key")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_CONN_THREDFI_DEFAULT", bad)
        ok, message = ThredfiHook().test_connection()
    assert not ok
    assert "sk_wrong_key" not in message
    clear_shared_clients()


def test_sensor_deferrable_through_dag_test(airflow_db, compat_dags, sandbox, business):
    """The first poke finds nothing, so the sensor defers; the trigger sees the record appear."""
    client = make_client(sandbox)
    client.create(business, "customers", {"external_id": "late-1", "company_name": "Late"})
    arrived = threading.Event()
    stop = threading.Event()

    def arrive_after_polls() -> None:
        # Only the trigger polls more than once (the sensor pokes once, then defers), so the
        # record appearing after several requests proves the deferred path found it.
        baseline = sandbox.counter("requests")
        while not stop.wait(0.2):
            if sandbox.counter("requests") - baseline >= 6:
                client.create(
                    business,
                    "invoices",
                    {**compat_dags.invoice(9), "external_id": "late-inv", "customer_external_id": "late-1"},
                )
                arrived.set()
                return

    watcher = threading.Thread(target=arrive_after_polls, daemon=True)
    watcher.start()
    try:
        run = compat_dags.sensor_dag.test()
    finally:
        stop.set()
        watcher.join(timeout=10)
    assert _state(run).endswith("success")
    assert arrived.is_set(), "the sensor finished before the record existed: it never waited"


def test_connection_form_on_every_line():
    """3.2+ reads ``conn-fields``; older lines build the same fields from the hook's python form."""
    if compat.HAS_DECLARATIVE_CONN_FIELDS:
        from airflow.providers_manager import ProvidersManager

        fields = set(ProvidersManager().connection_form_widgets)
    elif compat.HAS_ASSETS:  # 3.0, 3.1: the api-server reads the python form with FAB mocked
        from importlib.util import find_spec

        from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

        (meta,) = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "thredfi"]
        if compat.AIRFLOW_VERSION == (3, 0) and find_spec("wtforms") is None:
            # 3.0 reads every provider's form through wtforms, so without FAB none has one (3.1
            # mocks FAB); the type is still listed and extras go in as JSON, as documented.
            assert (meta.hook_name, meta.extra_fields) == ("Thredfi", None)
            return
        assert meta.standard_fields.login.title == "Partner UUID"
        fields = {f"extra__thredfi__{name}" for name in (meta.extra_fields or {})}
    else:  # 2.11: the Flask UI builds the form from the hook's widgets
        from airflow.providers_manager import ProvidersManager

        fields = set(ProvidersManager().connection_form_widgets)
    from thredfi_provider.get_provider_info import CONN_FIELDS

    assert {f"extra__thredfi__{name}" for name in CONN_FIELDS} <= fields


def test_gated_features_degrade_cleanly():
    assert compat.AIRFLOW_VERSION >= (2, 11)
    policy = object()
    assert compat.retry_policy_kwargs(None) == {}
    if compat.HAS_RETRY_POLICY:
        assert compat.retry_policy_kwargs(policy) == {"retry_policy": policy}  # type: ignore[arg-type]
    else:
        assert compat.retry_policy_kwargs(policy) == {}  # type: ignore[arg-type]
        with pytest.raises(AttributeError, match=r"3\.3"):
            _ = compat.RetryPolicy
    assert compat.ResumableJobMixin is not None
    asset = compat.Asset("thredfi://compat/ledger")
    assert type(asset).__name__ == ("Asset" if compat.HAS_ASSETS else "Dataset")
    assert compat.CronDataIntervalTimetable("0 2 * * *", timezone="UTC") is not None


def test_example_dags_parse():
    """Every example DAG parses: Assets on 3.x, Datasets on 2.11, CronDataIntervalTimetable on all."""
    dags = Path(__file__).resolve().parent.parent / "dags"
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "try:\n    from airflow.dag_processing.dagbag import DagBag\n"
        "except ImportError:\n    from airflow.models.dagbag import DagBag\n"
        "bag = DagBag(dag_folder=sys.argv[1])\n"
        "print(len(bag.dag_ids), sorted(bag.import_errors))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(dags)], capture_output=True, text=True,
                         timeout=300, env={**os.environ})  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    count, errors = out.stdout.strip().splitlines()[-1].split(" ", 1)
    assert errors == "[]", out.stdout[-2000:]
    assert int(count) >= 8
