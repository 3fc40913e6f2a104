"""Sync businesses: create, update what the contract lets change (PATCH), refuse the rest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from thredfi_provider.client.resources import BUSINESS
from thredfi_provider.operators._deprecated import ids_only, warn_renamed
from thredfi_provider.operators._sync.record_outcome import conflict, updated
from thredfi_provider.operators.sync_operator import ThredfiSyncOperator

if TYPE_CHECKING:
    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.client.compare import Differences
    from thredfi_provider.client.models import Business
    from thredfi_provider.operators._sync.batch_summary import BatchSummary
    from thredfi_provider.operators._sync.lookups import BusinessLookups, Record
    from thredfi_provider.operators._sync.record_outcome import Outcome
    from thredfi_provider.operators.sources import RecordsSource

# A business's country and base currency shape its whole ledger; its external_id is its key.
IMMUTABLE = frozenset({"country", "base_currency", "external_id"})


class ThredfiSyncBusinessesOperator(ThredfiSyncOperator["Business"]):
    """Make Thredfi's businesses match the source's (partner level: no ``business_id`` needed).

    A new business is created; a changed name, email, entity type or other mutable field is
    updated with ``PATCH``; a changed country or base currency is a conflict.

    .. seealso:: :doc:`/operators/businesses`
    """

    what: ClassVar[str] = "businesses"
    resource = BUSINESS
    needs_business: ClassVar[bool] = False
    planned: ClassVar[bool] = False  # the partner's businesses list is read once (few rows)

    def held(self, client: ThredfiClient, lookups: BusinessLookups, record: Business) -> Record | None:
        return lookups.businesses().by_external_id.get(record.external_id)

    def create(
        self, client: ThredfiClient, lookups: BusinessLookups, record: Business, payload: dict[str, Any]
    ) -> Any:
        return client.create_business(payload)

    def read(self, client: ThredfiClient, lookups: BusinessLookups, record_id: str) -> Record:
        return client.get_business(record_id)

    def read_by_external_id(
        self, client: ThredfiClient, lookups: BusinessLookups, record: Business
    ) -> Record | None:
        return next((b for b in client.list_businesses() if b.get("external_id") == record.external_id), None)

    def change(
        self, client: ThredfiClient, lookups: BusinessLookups, record: Business, payload: dict[str, Any],
        held: Record, diff: Differences,
    ) -> Outcome:  # fmt: skip
        frozen = {name: diff[name] for name in diff if name in IMMUTABLE}
        if frozen:
            return conflict(held, {**frozen, **diff}, "Thredfi does not let a business change this")
        client.update_business(str(held["id"]), {name: payload[name] for name in diff if name in payload})
        return updated(held, diff)


class ThredfiOnboardBusinessOperator(ThredfiSyncBusinessesOperator):
    """Deprecated: use :class:`ThredfiSyncBusinessesOperator`. Returns ``{external_id: business_id}``.

    .. seealso:: :doc:`/operators/businesses`; the old names: :doc:`/operators/index`
    """

    legacy_summary_xcom: ClassVar[bool] = True

    def __init__(
        self, *, business: Mapping[str, Any] | None = None, records: RecordsSource = None, **kwargs: Any
    ) -> None:
        warn_renamed("ThredfiOnboardBusinessOperator", "ThredfiSyncBusinessesOperator")
        super().__init__(records=[business] if business is not None else records, **kwargs)

    def result(self, summary: BatchSummary, value: dict[str, Any]) -> dict[str, str]:
        return ids_only(summary)
