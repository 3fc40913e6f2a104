"""Airflow's deprecation policy: every old name warns with ``AirflowProviderDeprecationWarning``,
names the release that removes it and its replacement, and still works until then."""

from __future__ import annotations

import importlib

import pytest

from thredfi_provider.compat import AirflowProviderDeprecationWarning
from thredfi_provider.operators._deprecated import REMOVAL, warn_deprecated

RENAMED = [
    ("businesses", "ThredfiOnboardBusinessOperator", "ThredfiSyncBusinessesOperator", {"records": []}),
    ("parties", "ThredfiUpsertCustomersOperator", "ThredfiSyncCustomersOperator", {"records": []}),
    ("parties", "ThredfiUpsertVendorsOperator", "ThredfiSyncVendorsOperator", {"records": []}),
    ("payments", "ThredfiRecordPaymentsOperator", "ThredfiSyncPaymentsOperator", {"records": []}),
    ("bills", "ThredfiRecordBillPaymentsOperator", "ThredfiSyncBillPaymentsOperator", {"records": []}),
]


@pytest.mark.parametrize(("module", "old", "new", "kwargs"), RENAMED, ids=[r[1] for r in RENAMED])
def test_each_old_operator_name_warns_names_its_removal_and_still_works(module, old, new, kwargs):
    operators = importlib.import_module(f"thredfi_provider.operators.{module}")
    with pytest.warns(
        AirflowProviderDeprecationWarning,
        match=rf"^{old} is deprecated and will be removed in 2\.0; use {new}",
    ) as caught:
        op = getattr(operators, old)(task_id="t", **kwargs)
    assert isinstance(op, getattr(operators, new))
    assert caught[0].filename == __file__, "the warning points at the caller, not the provider"


def test_the_ledger_exports_old_connection_argument_warns_the_same_way():
    from thredfi_provider.operators.ledger import ThredfiExportLedgerOperator

    with pytest.warns(
        AirflowProviderDeprecationWarning, match=r"conn_id=\.\.\.\) is deprecated and will be removed in 2\.0"
    ):
        ThredfiExportLedgerOperator(task_id="l", business_id="b", path="/tmp/x", conn_id="store")


def test_outside_the_shims_tests_the_providers_deprecations_are_errors():
    """pyproject.toml's filterwarnings: a test that uses an old name without saying so fails."""
    with pytest.raises(AirflowProviderDeprecationWarning):
        warn_deprecated("ThredfiSomethingOld", "ThredfiSomethingNew", stacklevel=2)


def test_the_changelog_says_when_each_shim_goes():
    from pathlib import Path

    changelog = (Path(__file__).parents[2] / "docs" / "changelog.md").read_text()
    for _, old, new, _ in RENAMED:
        assert f"`{old}`" in changelog, old
        assert f"`{new}`" in changelog, new
    assert f"removed in {REMOVAL}" in changelog
