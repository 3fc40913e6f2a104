"""Sync invoice payments, each with a deterministic ``Idempotency-Key``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from thredfi_provider.client.errors import ThredfiRecordError
from thredfi_provider.client.resources import INVOICE, PAYMENT, Resource
from thredfi_provider.operators._deprecated import warn_renamed
from thredfi_provider.operators._sync.lookups import NOT_LOOKED
from thredfi_provider.operators._sync.record_outcome import Outcome, conflict, updated
from thredfi_provider.operators.sync_operator import ThredfiSyncOperator

if TYPE_CHECKING:
    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.client.compare import Differences
    from thredfi_provider.client.models import Payment, PaymentBase
    from thredfi_provider.operators._sync.lookups import BusinessLookups, Record

P = TypeVar("P", bound="PaymentBase")


class PaymentSync(ThredfiSyncOperator[P]):
    """What invoice payments and bill payments share: the key, and what may change after.

    A completed payment's amount, allocations, date, fee and party are settled money: changing
    them is a conflict (Thredfi says to refund instead). Its method, reference and note may be
    patched.
    """

    amount_field: ClassVar[str] = "total_amount_cents"
    target: ClassVar[Resource] = INVOICE
    # What went into the ledger: Thredfi refuses to change these on a completed payment.
    settled_fields: ClassVar[frozenset[str]] = frozenset(
        {"total_amount_cents", "amount_cents", "allocations", "customer_id", "vendor_id", "payment_date",
         "processing_fee_cents", "currency"}
    )  # fmt: skip

    def create(
        self, client: ThredfiClient, lookups: BusinessLookups, record: P, payload: dict[str, Any]
    ) -> Any:
        key = record.idempotency_key(lookups.business_id)
        return client.create(lookups.business_id, self.resource, payload, idempotency_key=key)

    def change(
        self, client: ThredfiClient, lookups: BusinessLookups, record: P, payload: dict[str, Any],
        held: Record, diff: Differences,
    ) -> Outcome:  # fmt: skip
        """``diff`` is what is known to have changed: by a compare, or by the sync state's digests.

        The payment is read again first (a key replay returns the original), and a field that read
        shows equal is dropped. A field it does not show (the published read has no cents) stays
        changed only if ``diff`` says so: it cannot be proven either way by the read.
        """
        from thredfi_provider.client.compare import differences, is_unknown

        current = self.read(client, lookups, str(held["id"]))
        fresh = differences(self.resource, payload, current)
        changed = {name: pair for name, pair in fresh.items() if not is_unknown(pair[0])}
        changed.update({name: fresh[name] for name in diff if name in fresh and name not in changed})
        if not changed:
            return Outcome("unchanged", str(held["id"]))
        status = str(
            current.get("status") or ("completed" if current.get("is_completed", True) else "pending")
        )
        settled = [name for name in changed if name.split("[")[0] in self.settled_fields]
        if settled and status.lower() not in ("pending", "failed"):
            first = {name: changed[name] for name in settled}
            return conflict(
                current,
                {**first, **changed},
                f"the payment is {status.lower()} in Thredfi: refund it instead of editing",
            )
        patch = {name: payload[name] for name in changed if name in payload}
        client.update(lookups.business_id, self.resource, str(held["id"]), patch, method="PATCH")
        return updated(current, changed)

    def read_by_external_id(
        self, client: ThredfiClient, lookups: BusinessLookups, record: P
    ) -> Record | None:
        """After a 409 on the create: its ``Idempotency-Key`` was first used with another body (the
        source edited the payment). The published list shape carries no ``external_id`` to find
        it by, so ask the create again without the key: ``external_id`` is idempotent too, and a
        known one answers with the payment as Thredfi holds it."""
        from thredfi_provider.client.errors import ThredfiConflictError

        payload = self.render(lookups, record.external_id, record)
        try:
            result = client.create(lookups.business_id, self.resource, payload)
        except ThredfiConflictError:
            return None
        found: Record = result.record
        return found


class ThredfiSyncPaymentsOperator(PaymentSync["Payment"]):
    """Record customer payments allocated to invoices, and keep them matching the source.

    Invoices may be referenced by Thredfi id (``invoice_id``, e.g. a write-back column: no
    lookup at all) or by your id (``invoice_external_id``). ``customer_id`` is required by the
    API reference; when the record does not carry it, it is taken from the allocated invoices.
    The ``Idempotency-Key`` is derived from the business and the payment's ``external_id``, so
    retries, reruns and backfills never pay an invoice twice.

    .. seealso:: :doc:`/operators/payments`
    """

    what: ClassVar[str] = "payments"
    resource = PAYMENT
    # The published payment list carries no external_id: a pass of it would find nothing, so every
    # payment goes per record (the keyed create replays, or says 409); a dry run still reads it.
    planned: ClassVar[bool] = False

    def held(self, client: ThredfiClient, lookups: BusinessLookups, record: Payment) -> Any:
        return super().held(client, lookups, record) if self.plan_only else NOT_LOOKED

    @classmethod
    def render(cls, lookups: BusinessLookups, label: str, record: Payment) -> dict[str, Any]:
        lookups.check_currency(label, record.currency)
        targets = lookups.allocation_targets(label, cls.target.path, record.allocations)
        if record.customer_id:
            customer_id = lookups.party_id(label, "customer", record.customer_id, None)
        else:
            customer_id = cls._customer_of(lookups, label, targets)
        return record.render(customer_id, [str(t["id"]) for t in targets])

    @classmethod
    def _customer_of(cls, lookups: BusinessLookups, label: str, targets: list[Record]) -> str:
        """The one customer of the allocated invoices (read by id only when not indexed)."""
        from thredfi_provider.client.compare import UNKNOWN, party_id

        customers = set()
        for target in targets:
            found = party_id(target, "customer")
            if found is UNKNOWN or not found:
                found = party_id(lookups.read_once(cls.target.path, str(target["id"])), "customer")
            customers.add(str(found))
        if len(customers) != 1:
            problem = "no allocation to take it from" if not customers else "allocations to several customers"
            raise ThredfiRecordError(label, "customer_id", f"required by Thredfi, and {problem}")
        return customers.pop()


class ThredfiRecordPaymentsOperator(ThredfiSyncPaymentsOperator):
    """Deprecated: use :class:`ThredfiSyncPaymentsOperator`.

    .. seealso:: :doc:`/operators/payments`; the old names: :doc:`/operators/index`
    """

    legacy_summary_xcom: ClassVar[bool] = True

    def __init__(self, **kwargs: Any) -> None:
        warn_renamed("ThredfiRecordPaymentsOperator", "ThredfiSyncPaymentsOperator")
        super().__init__(**kwargs)
