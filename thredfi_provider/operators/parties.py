"""Upsert customers and vendors by ``external_id``."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from thredfi_provider.operators.sync import ThredfiSyncOperator

if TYPE_CHECKING:
    from thredfi_provider.operators.batch import BatchSummary


class ThredfiUpsertCustomersOperator(ThredfiSyncOperator):
    """Create customers that do not exist yet; existing ``external_id`` values are found, not duplicated.

    Returns ``{external_id: customer_id}``.

    Example::

        ThredfiUpsertCustomersOperator(
            task_id="customers",
            business_id="{{ ti.xcom_pull('onboard')['acct-42'] }}",
            records=[{"external_id": "cust-1", "company_name": "Globex", "email": "ap@globex.test"}],
        )
    """

    model_name: ClassVar[str] = "Customer"
    what: ClassVar[str] = "customers"

    def result(self, summary: BatchSummary) -> dict[str, str]:
        return dict(summary.ids)


class ThredfiUpsertVendorsOperator(ThredfiUpsertCustomersOperator):
    """Same as :class:`ThredfiUpsertCustomersOperator`, for vendors (suppliers)."""

    model_name: ClassVar[str] = "Vendor"
    what: ClassVar[str] = "vendors"
