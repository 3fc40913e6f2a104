"""What every Thredfi operator shares: the hook, its client and lineage.

How an error becomes a task state is the hook layer's :mod:`~thredfi_provider.hooks.task_state`,
shared with the sensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from thredfi_provider.compat import BaseOperator
from thredfi_provider.hooks.task_state import task_state_from_errors
from thredfi_provider.hooks.thredfi import ThredfiHook

if TYPE_CHECKING:
    from thredfi_provider.client.client import ThredfiClient


class ThredfiBaseOperator(BaseOperator):
    """Base for Thredfi operators.

    :param thredfi_conn_id: the ``thredfi`` connection (default ``thredfi_default``).
    """

    template_fields: Sequence[str] = ("thredfi_conn_id",)
    ui_color = "#e8f1fb"

    def __init__(self, *, thredfi_conn_id: str = ThredfiHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.thredfi_conn_id = thredfi_conn_id

    @cached_property
    def hook(self) -> ThredfiHook:
        return ThredfiHook(thredfi_conn_id=self.thredfi_conn_id)

    #: What the last ``execute`` read and wrote (see :func:`~.lineage.lineage`); set by each operator.
    lineage_facts: dict[str, Any] | None = None

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """What this run read and wrote, for Airflow's OpenLineage listener (:doc:`/lineage`)."""
        if self.lineage_facts is None:
            return None
        from thredfi_provider.operators._lineage import lineage

        return lineage(**self.lineage_facts)

    def client(self) -> ThredfiClient:
        """The hook's shared client; a missing or malformed connection fails without retries."""
        with task_state_from_errors():
            return self.hook.get_conn()
