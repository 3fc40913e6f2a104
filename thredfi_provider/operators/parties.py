"""Sync customers and vendors by ``external_id``.

Thredfi publishes no update endpoint for either (CONTRACT.md §5.1): a changed name or email is
reported as a conflict, never dropped silently. Archiving follows what is published: customers
can be archived (not unarchived), vendors unarchived (not archived); the other direction is a
conflict. An archive or unarchive whose answer was lost is settled by reading the party back
(``operators/_sync/read_back.py``): already in the state asked for is ``updated``, as if answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from thredfi_provider._deprecations import moved_names
from thredfi_provider.client.resources import CUSTOMER, VENDOR
from thredfi_provider.operators._deprecated import ids_only, warn_renamed
from thredfi_provider.operators._sync.read_back import act_or_read_back
from thredfi_provider.operators._sync.record_outcome import Outcome
from thredfi_provider.operators.sync_operator import ThredfiSyncOperator

if TYPE_CHECKING:
    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.client.models import Customer, Vendor
    from thredfi_provider.operators._sync.batch_summary import BatchSummary
    from thredfi_provider.operators._sync.lookups import BusinessLookups, Record


# The archive rule moved to the registry; the old name works until 2.0, with a warning.
__getattr__ = moved_names(__name__, {"is_archived": "thredfi_provider.client.resources:CUSTOMER.is_archived"})


class ThredfiSyncCustomersOperator(ThredfiSyncOperator["Customer"]):
    """Create the customers Thredfi does not hold; archive those the source archived.

    .. seealso:: :doc:`/operators/parties`
    """

    what: ClassVar[str] = "customers"
    resource = CUSTOMER

    def settle(
        self, client: ThredfiClient, lookups: BusinessLookups, record: Customer, held: Record | None
    ) -> Outcome | None:
        if held is not None and not record.archived and self.resource.is_archived(held):
            return Outcome(
                "conflict", str(held["id"]), field="archived", held=True, sent=False,
                reason="Thredfi publishes no unarchive endpoint for customers (only archive)",
            )  # fmt: skip
        if not record.archived:
            return None
        if held is None:
            return Outcome("unchanged")  # archived before it ever reached Thredfi
        if self.resource.is_archived(held):
            return Outcome("unchanged", str(held["id"]))
        act_or_read_back(
            client, lookups.business_id, CUSTOMER, str(held["id"]), "archive",
            done=CUSTOMER.is_archived, read=lambda rid: self.read(client, lookups, rid),
        )  # fmt: skip
        return Outcome("updated", str(held["id"]), changed=("archived",))


class ThredfiSyncVendorsOperator(ThredfiSyncOperator["Vendor"]):
    """Create the vendors Thredfi does not hold.

    .. seealso:: :doc:`/operators/parties`
    """

    what: ClassVar[str] = "vendors"
    resource = VENDOR

    def settle(
        self, client: ThredfiClient, lookups: BusinessLookups, record: Vendor, held: Record | None
    ) -> Outcome | None:
        if held is not None and not record.archived and self.resource.is_archived(held):
            act_or_read_back(
                client, lookups.business_id, VENDOR, str(held["id"]), "unarchive",
                done=lambda now: not VENDOR.is_archived(now),
                read=lambda rid: self.read(client, lookups, rid),
            )  # fmt: skip
            return Outcome("updated", str(held["id"]), changed=("archived",))
        if not record.archived:
            return None
        if held is None or self.resource.is_archived(held):
            return Outcome("unchanged", str(held["id"]) if held else None)
        return Outcome(
            "conflict", str(held["id"]), field="archived", held=False, sent=True,
            reason="Thredfi publishes no archive endpoint for vendors (only unarchive)",
        )  # fmt: skip


class ThredfiUpsertCustomersOperator(ThredfiSyncCustomersOperator):
    """Deprecated: use :class:`ThredfiSyncCustomersOperator`. Returns ``{external_id: customer_id}``.

    .. seealso:: :doc:`/operators/parties`; the old names: :doc:`/operators/index`
    """

    legacy_summary_xcom: ClassVar[bool] = True

    def __init__(self, **kwargs: Any) -> None:
        warn_renamed("ThredfiUpsertCustomersOperator", "ThredfiSyncCustomersOperator")
        super().__init__(**kwargs)

    def result(self, summary: BatchSummary, value: dict[str, Any]) -> dict[str, str]:
        return ids_only(summary)


class ThredfiUpsertVendorsOperator(ThredfiSyncVendorsOperator):
    """Deprecated: use :class:`ThredfiSyncVendorsOperator`. Returns ``{external_id: vendor_id}``.

    .. seealso:: :doc:`/operators/parties`; the old names: :doc:`/operators/index`
    """

    legacy_summary_xcom: ClassVar[bool] = True

    def __init__(self, **kwargs: Any) -> None:
        warn_renamed("ThredfiUpsertVendorsOperator", "ThredfiSyncVendorsOperator")
        super().__init__(**kwargs)

    def result(self, summary: BatchSummary, value: dict[str, Any]) -> dict[str, str]:
        return ids_only(summary)
