"""One name for the object storage connection: ``<path argument>_conn_id`` on every operator."""

from __future__ import annotations

import inspect
import warnings

import pytest

from thredfi_provider.compat import AirflowProviderDeprecationWarning
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
from thredfi_provider.operators.ledger import ThredfiExportLedgerOperator
from thredfi_provider.operators.reconcile import ThredfiReconcileOperator


@pytest.mark.parametrize(
    "operator", [ThredfiSyncInvoicesOperator, ThredfiExportLedgerOperator, ThredfiReconcileOperator]
)
def test_every_path_argument_has_its_storage_connection_named_after_it(operator):
    names = {name for cls in operator.__mro__ if "__init__" in vars(cls)
             for name in inspect.signature(cls.__init__).parameters}  # fmt: skip
    paths = {name for name in names if name == "path" or name.endswith("_path")}
    assert paths
    for path in paths:
        conn = "path_conn_id" if path == "path" else path.removesuffix("_path") + "_conn_id"
        assert conn in names, f"{operator.__name__}.{path} has no {conn}"


def test_the_ledger_exports_old_conn_id_warns_with_a_removal_version_and_still_works():
    with pytest.warns(AirflowProviderDeprecationWarning, match=r"will be removed in 2\.0; use path_conn_id"):
        op = ThredfiExportLedgerOperator(task_id="l", business_id="b", path="/tmp/x.jsonl", conn_id="store")
    assert op.path_conn_id == "store"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (
            ThredfiExportLedgerOperator(
                task_id="n", business_id="b", path="/tmp/x", path_conn_id="s"
            ).path_conn_id
            == "s"
        )


def test_the_reconcile_report_is_written_through_report_conn_id(
    thredfi_sandbox, thredfi_conn_id, seeded, tmp_path, capfd
):
    from tests.helpers.operators import run

    common = {"resource": "customer", "business_id": seeded, "records": []}
    run(ThredfiReconcileOperator(task_id="r", report_path=f"file://{tmp_path}/a.json",
                                 report_conn_id="local_store", **common))  # fmt: skip
    assert (tmp_path / "a.json").exists()
    logged = capfd.readouterr()
    assert (
        f"written to file://local_store@{tmp_path}/a.json" in logged.out + logged.err
    )  # the path carries it
