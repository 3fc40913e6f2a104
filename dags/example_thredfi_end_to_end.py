"""The whole daily flow in one DAG: onboard, invoices, payments, bills, bill payments, ledger export.

Each stage publishes an Asset when it lands, so other DAGs (reporting, a warehouse load, the
trial balance in ``example_thredfi_trial_balance``) can be scheduled on "Thredfi is up to date"
rather than on a clock. Deploy this DAG *or* the per-area ones; they select the same rows and
are idempotent, so running both is harmless, merely redundant.
"""

# [START howto_dag_thredfi_end_to_end]
from __future__ import annotations

from typing import Any

import pendulum

# Airflow's names as its own provider examples import them: common-compat resolves each on 2.11
# to 3.3 (and the word "airflow" keeps this file visible to DAG discovery's safe mode).
from airflow.providers.common.compat.sdk import Asset, XComArg, dag, task
from thredfi_example_source import (
    BILLS_URI,
    DEFAULT_ARGS,
    INVOICES_URI,
    LEDGER_URI,
    ONBOARDED_URI,
    PAYMENTS_URI,
    bill_payment_records,
    bill_records,
    business_records,
    export_targets,
    interval_bounds,
    invoice_records,
    party_records,
    payment_records,
    store_ids,
)

from thredfi_provider.operators.bills import ThredfiSyncBillPaymentsOperator, ThredfiSyncBillsOperator
from thredfi_provider.operators.businesses import ThredfiSyncBusinessesOperator
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
from thredfi_provider.operators.ledger import ThredfiExportLedgerOperator
from thredfi_provider.operators.parties import ThredfiSyncCustomersOperator, ThredfiSyncVendorsOperator
from thredfi_provider.operators.payments import ThredfiSyncPaymentsOperator

try:  # Airflow 3
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 2.11
    from airflow.timetables.interval import CronDataIntervalTimetable  # type: ignore[no-redef]


@task
def select(kind: str, **context: Any) -> list[dict[str, Any]]:
    """Source rows for this run: parties are not dated; documents and payments by data interval."""
    if kind == "businesses":
        return business_records()
    if kind in ("customers", "vendors"):
        return party_records(kind)
    builders = {"invoices": invoice_records, "payments": payment_records, "bills": bill_records,
                "bill_payments": bill_payment_records}  # fmt: skip
    return builders[kind](*interval_bounds(context))


@task
def write_back(table: str, summary: dict[str, Any]) -> int:
    """Store Thredfi ids beside the source rows, from the summary every sync operator returns."""
    return store_ids(table, summary)


def summary_of(operator: Any) -> XComArg:
    return XComArg(operator)


@dag(
    default_args=DEFAULT_ARGS,
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 3, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["thredfi", "example"],
)
def example_thredfi_end_to_end() -> None:
    onboard = ThredfiSyncBusinessesOperator(task_id="sync_businesses", records=select("businesses"))
    businesses_stored = write_back.override(task_id="store_business_ids")("businesses", summary_of(onboard))

    customers_in = select.override(task_id="select_customers")("customers")
    vendors_in = select.override(task_id="select_vendors")("vendors")
    businesses_stored >> [customers_in, vendors_in]
    customers = ThredfiSyncCustomersOperator(task_id="sync_customers", records=customers_in)
    vendors = ThredfiSyncVendorsOperator(task_id="sync_vendors", records=vendors_in)
    customers_stored = write_back.override(task_id="store_customer_ids", outlets=[Asset(ONBOARDED_URI)])(
        "customers", summary_of(customers)
    )
    vendors_stored = write_back.override(task_id="store_vendor_ids")("vendors", summary_of(vendors))

    invoices_in = select.override(task_id="select_invoices")("invoices")
    customers_stored >> invoices_in
    invoices = ThredfiSyncInvoicesOperator(task_id="sync_invoices", records=invoices_in)
    invoices_stored = write_back.override(task_id="store_invoice_ids", outlets=[Asset(INVOICES_URI)])(
        "invoices", summary_of(invoices)
    )

    payments_in = select.override(task_id="select_payments")("payments")
    invoices_stored >> payments_in
    payments = ThredfiSyncPaymentsOperator(task_id="sync_payments", records=payments_in)
    payments_stored = write_back.override(task_id="store_payment_ids", outlets=[Asset(PAYMENTS_URI)])(
        "payments", summary_of(payments)
    )

    bills_in = select.override(task_id="select_bills")("bills")
    vendors_stored >> bills_in
    bills = ThredfiSyncBillsOperator(task_id="sync_bills", records=bills_in)
    bills_stored = write_back.override(task_id="store_bill_ids")("bills", summary_of(bills))
    bill_payments_in = select.override(task_id="select_bill_payments")("bill_payments")
    bills_stored >> bill_payments_in
    bill_payments = ThredfiSyncBillPaymentsOperator(task_id="sync_bill_payments", records=bill_payments_in)
    bill_payments_stored = write_back.override(task_id="store_bill_payment_ids", outlets=[Asset(BILLS_URI)])(
        "bill_payments", summary_of(bill_payments)
    )

    @task
    def ledger_targets() -> list[dict[str, Any]]:
        return export_targets()

    targets = ledger_targets()
    [payments_stored, bill_payments_stored] >> targets
    ThredfiExportLedgerOperator.partial(task_id="export_ledger", outlets=[Asset(LEDGER_URI)]).expand_kwargs(
        targets
    )


example_thredfi_end_to_end()
# [END howto_dag_thredfi_end_to_end]
