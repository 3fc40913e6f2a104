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


# ---------------------------------------------------------------------- moved modules and names

# Every module that moved, with one name it still offers (thredfi_provider/operators/__init__.py).
MOVED_MODULES = [
    ("thredfi_provider.operators.job_runner", "Outcome", "thredfi_provider.operators._sync.record_outcome"),
    ("thredfi_provider.operators.job_runner", "run_jobs", "thredfi_provider.operators._sync.batch_runner"),
    ("thredfi_provider.operators.task_policy", "enforce_policy", "thredfi_provider.hooks.task_state"),
    (
        "thredfi_provider.operators.business_lookups",
        "BusinessLookups",
        "thredfi_provider.operators._sync.lookups",
    ),
    ("thredfi_provider.operators.sync_plan", "Plan", "thredfi_provider.operators._sync.lookups"),
    ("thredfi_provider.operators.remembered", "Remembered", "thredfi_provider.operators._sync.remembered"),
    ("thredfi_provider.operators.dedup", "SeenKeys", "thredfi_provider.operators._sync.scratch"),
    ("thredfi_provider.operators.packed", "Packed", "thredfi_provider.operators._sync.scratch"),
    (
        "thredfi_provider.operators.chunk_validation",
        "validate_chunk",
        "thredfi_provider.operators._sync.chunks",
    ),
    (
        "thredfi_provider.operators.details_report",
        "storage_path",
        "thredfi_provider.operators._sync.report_storage",
    ),
    ("thredfi_provider.operators.sync_state", "SyncState", "thredfi_provider.operators._sync.state"),
    ("thredfi_provider.operators.sync_run", "SyncRun", "thredfi_provider.operators._sync.run"),
    ("thredfi_provider.operators.sync_fields", "wire_names", "thredfi_provider.operators._sync.wire_fields"),
    ("thredfi_provider.operators.sync_options", "check_options", "thredfi_provider.operators._sync.options"),
    (
        "thredfi_provider.operators.ambiguous",
        "act_or_read_back",
        "thredfi_provider.operators._sync.read_back",
    ),
    ("thredfi_provider.operators.dry_run", "DryRunClient", "thredfi_provider.operators._sync.dry_run"),
    ("thredfi_provider.operators.progress", "Progress", "thredfi_provider.operators._sync.progress"),
    ("thredfi_provider.operators.lineage", "lineage", "thredfi_provider.operators._lineage"),
    ("thredfi_provider.operators.deprecated", "ids_only", "thredfi_provider.operators._deprecated"),
    ("thredfi_provider.operators.base", "ThredfiBaseOperator", "thredfi_provider.operators.base_operator"),
    ("thredfi_provider.operators.sync", "ThredfiSyncOperator", "thredfi_provider.operators.sync_operator"),
    ("thredfi_provider.operators.lookups", "BusinessLookups", "thredfi_provider.operators._sync.lookups"),
    ("thredfi_provider.operators.batch", "ThredfiBatchError", "thredfi_provider.hooks.task_state"),
    ("thredfi_provider.operators.summary", "BatchSummary", "thredfi_provider.operators._sync.batch_summary"),
    ("thredfi_provider.sensors.query", "ResourceQuery", "thredfi_provider.hooks.status"),
]


@pytest.mark.parametrize(("old", "name", "new"), MOVED_MODULES, ids=[f"{m[0]}.{m[1]}" for m in MOVED_MODULES])
def test_each_moved_module_still_imports_and_warns_naming_where_it_went(old, name, new):
    module = importlib.import_module(old)
    with pytest.warns(
        AirflowProviderDeprecationWarning,
        match=rf"^{old}\.{name} is deprecated and will be removed in 2\.0; use {new}\.{name}$",
    ) as caught:
        found = getattr(module, name)
    assert found is getattr(importlib.import_module(new), name)
    assert caught[0].filename == __file__, "the warning points at the importing line"


def test_a_name_a_moved_module_never_had_is_an_attribute_error_not_a_warning():
    import warnings

    module = importlib.import_module("thredfi_provider.operators.job_runner")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match=r"moved to .* has no attribute 'Nope'"):
            module.Nope  # noqa: B018


def test_every_module_registered_as_moved_is_tested_here():
    import sys

    registered = {n for n, m in sys.modules.items() if getattr(m, "__doc__", "") and "Moved to" in m.__doc__}
    assert registered == {old for old, _, new in MOVED_MODULES if "summary" not in old}


MOVED_NAMES = [
    ("thredfi_provider.operators.invoices", "VOID", "thredfi_provider.client.resources.VOID"),
    ("thredfi_provider.operators.invoices", "SETTLED", "thredfi_provider.client.resources.SETTLED"),
    (
        "thredfi_provider.operators.invoices",
        "status_of",
        "thredfi_provider.client.resources.Resource.status_of",
    ),
    (
        "thredfi_provider.operators.parties",
        "is_archived",
        "thredfi_provider.client.resources.CUSTOMER.is_archived",
    ),
]


@pytest.mark.parametrize(("module", "name", "new"), MOVED_NAMES, ids=[m[1] for m in MOVED_NAMES])
def test_each_status_rule_that_moved_to_the_registry_still_works_with_a_warning(module, name, new):
    with pytest.warns(
        AirflowProviderDeprecationWarning, match=rf"^{module}\.{name} is deprecated .* use {new}$"
    ):
        found = getattr(importlib.import_module(module), name)
    if name == "Outcome":
        assert found(met=True).met
    elif callable(found):
        assert found({"status": "VOID", "is_archived": True})
    else:
        assert "void" in found or "paid" in found


# ---------------------------------------------------------------------- one spelling of a resource


def test_the_sensor_and_reconcile_take_the_registry_name_and_warn_on_the_old_plural():
    from thredfi_provider.operators.reconcile import ThredfiReconcileOperator
    from thredfi_provider.sensors.resource import ThredfiResourceSensor

    with pytest.warns(
        AirflowProviderDeprecationWarning,
        match=r"resource='invoices'\) is deprecated .* 2\.0; use resource='invoice'",
    ):
        op = ThredfiReconcileOperator(task_id="r", resource="invoices", records=[])
    assert op.resource == "invoice"
    with pytest.warns(AirflowProviderDeprecationWarning, match=r"resource='bill_payments'\) is deprecated"):
        sensor = ThredfiResourceSensor(
            task_id="s", resource="bill_payments", business_id="b", resource_id="x"
        )
    assert sensor.resource == "bill_payment"
    assert (
        ThredfiReconcileOperator(task_id="r2", resource="bill_payment", records=[]).resource == "bill_payment"
    )
    with pytest.raises(ValueError, match="resource must be one of"):
        ThredfiReconcileOperator(task_id="r3", resource="journal_entry", records=[])


# ---------------------------------------------------------------------- the client's removed methods


def test_each_removed_client_method_warns_names_its_replacement_and_still_works(thredfi_sandbox):
    from tests.helpers import make_client, onboard
    from tests.helpers.sandbox_http import bill_body, bill_payment_body, invoice_body, payment_body

    client = make_client(thredfi_sandbox)
    business = onboard(client)

    def old(name, *args):
        with pytest.warns(
            AirflowProviderDeprecationWarning,
            match=rf"^ThredfiClient\.{name}\(\) is deprecated and will be removed in 2\.0; use ThredfiClient\.",
        ) as caught:
            result = getattr(client, name)(*args)
        assert caught[0].filename == __file__
        return result

    customer = old("create_customer", business, {"external_id": "c", "company_name": "C"}).record["id"]
    vendor = old("create_vendor", business, {"external_id": "v", "company_name": "V"}).record["id"]
    invoice = old("create_invoice", business, invoice_body(customer, "i")).record["id"]
    other = old("create_invoice", business, invoice_body(customer, "i2")).record["id"]
    bill = old("create_bill", business, bill_body(vendor, "b", 700, "2024-03-02")).record["id"]
    paid = old("record_payment", business, payment_body(customer, invoice, "p", 1_000, "2024-03-05"), "key-p")
    bill_paid = old("record_bill_payment", business,
                    bill_payment_body(vendor, bill, "bp", 700, "2024-03-06", "check"), "key-bp")  # fmt: skip
    assert paid.created
    assert bill_paid.created
    assert old("void_invoice", business, other)["status"].lower() in ("void", "voided")
    assert old("archive_customer", business, customer)["is_archived"] is True
    assert old("unarchive_vendor", business, vendor)["id"] == vendor
    assert [a["code"] for a in old("list_accounts", business)]
    entries = list(old("list_journal_entries", business))
    assert entries, "the payments posted to the ledger"
    assert old("get_journal_entry", business, entries[0]["id"])["id"] == entries[0]["id"]
    held = {r["external_id"] for r in client.list_records(business, "invoice")}
    assert held == {"i", "i2"}, "each old create made exactly one record"
