"""Onboard businesses into Thredfi (create, or find by ``external_id``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from thredfi_provider.operators.batch import Job
from thredfi_provider.operators.sync import ThredfiSyncOperator

if TYPE_CHECKING:
    from thredfi_provider.client import ThredfiClient
    from thredfi_provider.client.models import RecordModel
    from thredfi_provider.operators.batch import BatchSummary, RecordsSource
    from thredfi_provider.operators.lookups import BusinessLookups


class ThredfiOnboardBusinessOperator(ThredfiSyncOperator):
    """Create one business or many; a repeat with the same ``external_id`` finds the existing one.

    Returns ``{external_id: business_id}``; the full summary is in the ``summary`` XCom.

    Example::

        onboard = ThredfiOnboardBusinessOperator(
            task_id="onboard",
            business={"external_id": "acct-42", "legal_name": "Acme Ltd", "entity_type": "limited",
                      "email": "ops@acme.test", "country": "GB", "base_currency": "GBP"},
        )
    """

    model_name: ClassVar[str] = "Business"
    what: ClassVar[str] = "businesses"
    needs_business: ClassVar[bool] = False

    def __init__(
        self, *, business: Mapping[str, Any] | None = None, records: RecordsSource = None, **kwargs: Any
    ) -> None:
        super().__init__(records=[business] if business is not None else records, **kwargs)

    def job(self, client: ThredfiClient, lookups: BusinessLookups, label: str, record: RecordModel) -> Job:
        payload = record.payload()
        return Job(label, "", lambda: client.create_business(payload))

    def result(self, summary: BatchSummary) -> dict[str, str]:
        return dict(summary.ids)
