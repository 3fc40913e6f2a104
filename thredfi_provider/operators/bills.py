"""The payables side: bills and bill payments."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from thredfi_provider.operators.batch import Job
from thredfi_provider.operators.sync import ThredfiSyncOperator

if TYPE_CHECKING:
    from thredfi_provider.client import ThredfiClient
    from thredfi_provider.client.models import Bill, BillPayment, RecordModel
    from thredfi_provider.operators.lookups import BusinessLookups


class ThredfiSyncBillsOperator(ThredfiSyncOperator):
    """Create bills idempotently (vendor by ``vendor_id`` or ``vendor_external_id``).

    Example::

        ThredfiSyncBillsOperator(
            task_id="bills",
            business_id=business_id,
            records=[{"external_id": "bill-9", "vendor_external_id": "vend-1", "bill_date": "2024-01-05",
                      "line_items": [{"description": "Hosting", "unit_price_cents": 9900,
                                      "account_code": "6100"}]}],
        )
    """

    model_name: ClassVar[str] = "Bill"
    what: ClassVar[str] = "bills"

    def job(self, client: ThredfiClient, lookups: BusinessLookups, label: str, record: RecordModel) -> Job:
        bill: Bill = record  # type: ignore[assignment]
        lookups.check_currency(label, bill.currency)
        vendor_id = lookups.party_id(label, "vendor", bill.vendor_id, bill.vendor_external_id)
        payload = bill.payload()
        payload.pop("vendor_external_id", None)
        payload["vendor_id"] = vendor_id
        return Job(label, lookups.business_id, lambda: client.create_bill(lookups.business_id, payload))


class ThredfiRecordBillPaymentsOperator(ThredfiSyncOperator):
    """Record payments to vendors allocated to bills, with deterministic ``Idempotency-Key`` headers.

    Example::

        ThredfiRecordBillPaymentsOperator(
            task_id="bill_payments",
            business_id=business_id,
            records=[{"external_id": "bp-9", "vendor_external_id": "vend-1", "amount_cents": 9900,
                      "payment_date": "2024-01-20",
                      "allocations": [{"bill_external_id": "bill-9", "amount_cents": 9900}]}],
        )
    """

    model_name: ClassVar[str] = "BillPayment"
    what: ClassVar[str] = "bill payments"

    def job(self, client: ThredfiClient, lookups: BusinessLookups, label: str, record: RecordModel) -> Job:
        payment: BillPayment = record  # type: ignore[assignment]
        lookups.check_currency(label, payment.currency)
        vendor_id = lookups.party_id(label, "vendor", payment.vendor_id, payment.vendor_external_id)
        targets = lookups.allocation_targets(label, "bills", payment.allocations)
        payload = payment.render(vendor_id, targets)
        key = payment.idempotency_key(lookups.business_id)
        return Job(
            label, lookups.business_id, lambda: client.record_bill_payment(lookups.business_id, payload, key)
        )
