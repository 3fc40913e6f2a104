"""Sync invoices for one or many businesses."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from thredfi_provider.operators.batch import Job
from thredfi_provider.operators.sync import ThredfiSyncOperator

if TYPE_CHECKING:
    from thredfi_provider.client import ThredfiClient
    from thredfi_provider.client.models import Invoice, RecordModel
    from thredfi_provider.operators.lookups import BusinessLookups


class ThredfiSyncInvoicesOperator(ThredfiSyncOperator):
    """Create invoices idempotently and report per record.

    Each record is checked before sending: required fields, integer cents, dates, currency
    equal to the business's base currency, and a customer that exists. Records go out
    concurrently (``max_workers``) and the return value is
    ``{"total", "created", "existing", "failed": [{"external_id", "error", ...}], "ids"}``.

    Example::

        ThredfiSyncInvoicesOperator(
            task_id="sync_invoices",
            business_id="{{ params.business_id }}",
            records=[{
                "external_id": "inv-1001", "customer_external_id": "cust-1",
                "invoice_number": "INV-1001", "sent_at": "2024-01-15", "due_at": "2024-02-14",
                "line_items": [{"description": "Consulting", "quantity": 3,
                                "unit_price_cents": 15000, "account_code": "4000"}],
            }],
            max_failures=5,
        )
    """

    model_name: ClassVar[str] = "Invoice"
    what: ClassVar[str] = "invoices"

    def job(self, client: ThredfiClient, lookups: BusinessLookups, label: str, record: RecordModel) -> Job:
        invoice: Invoice = record  # type: ignore[assignment]
        lookups.check_currency(label, invoice.currency)
        customer_id = lookups.party_id(label, "customer", invoice.customer_id, invoice.customer_external_id)
        payload = invoice.payload()
        payload.pop("customer_external_id", None)
        payload["customer_id"] = customer_id
        return Job(label, lookups.business_id, lambda: client.create_invoice(lookups.business_id, payload))
