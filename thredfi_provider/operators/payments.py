"""Record invoice payments, each with a deterministic ``Idempotency-Key``."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from thredfi_provider.operators.batch import Job
from thredfi_provider.operators.sync import ThredfiSyncOperator

if TYPE_CHECKING:
    from thredfi_provider.client import ThredfiClient
    from thredfi_provider.client.models import Payment, RecordModel
    from thredfi_provider.operators.lookups import BusinessLookups


class ThredfiRecordPaymentsOperator(ThredfiSyncOperator):
    """Record customer payments allocated to invoices.

    Invoices may be referenced by Thredfi id (``invoice_id``) or by your id
    (``invoice_external_id``). The ``Idempotency-Key`` is derived from the business and the
    payment's ``external_id``, so retries, reruns and backfills never pay an invoice twice; a
    changed payment under the same key is refused by Thredfi (409) and reported as failed.

    Example::

        ThredfiRecordPaymentsOperator(
            task_id="payments",
            business_id=business_id,
            records=[{"external_id": "pay-77", "amount_cents": 45000, "payment_date": "2024-01-20",
                      "allocations": [{"invoice_external_id": "inv-1001", "amount_cents": 45000}]}],
        )
    """

    model_name: ClassVar[str] = "Payment"
    what: ClassVar[str] = "payments"

    def job(self, client: ThredfiClient, lookups: BusinessLookups, label: str, record: RecordModel) -> Job:
        payment: Payment = record  # type: ignore[assignment]
        lookups.check_currency(label, payment.currency)
        if payment.customer_id:
            lookups.party_id(label, "customer", payment.customer_id, None)
        targets = lookups.allocation_targets(label, "invoices", payment.allocations)
        payload = payment.render(targets)
        key = payment.idempotency_key(lookups.business_id)
        return Job(
            label, lookups.business_id, lambda: client.record_payment(lookups.business_id, payload, key)
        )
