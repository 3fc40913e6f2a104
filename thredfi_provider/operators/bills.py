"""The payables side: bills (create, update while unpaid) and bill payments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from thredfi_provider.client.resources import BILL, BILL_PAYMENT, Resource
from thredfi_provider.operators._deprecated import warn_renamed
from thredfi_provider.operators.invoices import line_payloads, put_unless_settled
from thredfi_provider.operators.payments import PaymentSync
from thredfi_provider.operators.sync_operator import ThredfiSyncOperator

if TYPE_CHECKING:
    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.client.compare import Differences
    from thredfi_provider.client.models import Bill, BillPayment
    from thredfi_provider.operators._sync.lookups import BusinessLookups, Record
    from thredfi_provider.operators._sync.record_outcome import Outcome


class ThredfiSyncBillsOperator(ThredfiSyncOperator["Bill"]):
    """Make Thredfi's bills match the source's (vendor by ``vendor_id`` or ``vendor_external_id``).

    A new bill is created; an edited one is updated with a full ``PUT`` (its lines replaced)
    while it is unpaid; an edit of a paid or voided bill is a conflict.

    .. seealso:: :doc:`/operators/bills`
    """

    what: ClassVar[str] = "bills"
    resource = BILL

    @classmethod
    def render(cls, lookups: BusinessLookups, label: str, record: Bill) -> dict[str, Any]:
        lookups.check_currency(label, record.currency)
        payload = record.payload()
        payload["vendor_id"] = lookups.party_id(label, "vendor", record.vendor_id, record.vendor_external_id)
        payload["line_items"] = line_payloads(lookups, label, record.line_items)
        return payload

    def change(
        self, client: ThredfiClient, lookups: BusinessLookups, record: Bill, payload: dict[str, Any],
        held: Record, diff: Differences,
    ) -> Outcome:  # fmt: skip
        return put_unless_settled(client, lookups, self.resource, "bill", payload, held, diff)


class ThredfiSyncBillPaymentsOperator(PaymentSync["BillPayment"]):
    """Record payments to vendors allocated to bills, with deterministic ``Idempotency-Key`` headers.

    A changed reference, method or date is applied with ``PATCH``; a changed amount or
    allocation of a completed payment is a conflict (it must be refunded instead).

    .. seealso:: :doc:`/operators/bills`
    """

    what: ClassVar[str] = "bill payments"
    resource = BILL_PAYMENT
    amount_field: ClassVar[str] = "amount_cents"
    target: ClassVar[Resource] = BILL

    @classmethod
    def render(cls, lookups: BusinessLookups, label: str, record: BillPayment) -> dict[str, Any]:
        lookups.check_currency(label, record.currency)
        vendor_id = lookups.party_id(label, "vendor", record.vendor_id, record.vendor_external_id)
        targets = lookups.allocation_targets(label, cls.target.path, record.allocations)
        return record.render(vendor_id, [str(t["id"]) for t in targets])


class ThredfiRecordBillPaymentsOperator(ThredfiSyncBillPaymentsOperator):
    """Deprecated: use :class:`ThredfiSyncBillPaymentsOperator`.

    .. seealso:: :doc:`/operators/bills`; the old names: :doc:`/operators/index`
    """

    legacy_summary_xcom: ClassVar[bool] = True

    def __init__(self, **kwargs: Any) -> None:
        warn_renamed("ThredfiRecordBillPaymentsOperator", "ThredfiSyncBillPaymentsOperator")
        super().__init__(**kwargs)
