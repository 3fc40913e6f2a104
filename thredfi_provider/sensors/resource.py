"""Wait for a Thredfi resource: a business active, an invoice paid, a payment or entry appearing."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from thredfi_provider.compat import BaseSensorOperator, PokeReturnValue, conf
from thredfi_provider.hooks.thredfi import ThredfiHook

if TYPE_CHECKING:
    from thredfi_provider.compat import Context
    from thredfi_provider.hooks.status import Condition, ResourceQuery


class ThredfiResourceSensor(BaseSensorOperator):
    """Succeed when a Thredfi resource meets a condition; return it through XCom.

    :param resource: ``business``, ``customer``, ``vendor``, ``invoice``, ``payment``, ``bill``,
        ``bill_payment``, ``journal_entry`` or ``account`` (the resource registry's names).
    :param business_id: the business (not needed for ``business`` itself).
    :param resource_id: watch one record by Thredfi id, or
    :param external_id: by your id, or
    :param filters: a list query; succeeds once ``min_count`` records match.
    :param condition: ``{"status": ["paid"]}`` (strings compare case-insensitively) or, in poke
        and reschedule modes only, a callable taking the record.
    :param deferrable: free the worker slot while waiting (default from
        ``[operators] default_deferrable``).

    404s and transient faults mean "not yet" until ``timeout``; permission and validation
    errors fail at once (or skip, with ``soft_fail``).

    .. seealso:: :doc:`/sensor`, and :doc:`/deferrable` for ``deferrable=True``
    """

    template_fields: Sequence[str] = (
        "thredfi_conn_id", "resource", "business_id", "resource_id", "external_id", "filters", "condition",
    )  # fmt: skip

    def __init__(
        self,
        *,
        resource: str,
        business_id: str | None = None,
        resource_id: str | None = None,
        external_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        condition: Condition = None,
        min_count: int = 1,
        thredfi_conn_id: str = ThredfiHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if deferrable and callable(condition):
            raise ValueError("a callable condition cannot be deferred; use a field/value mapping")
        from thredfi_provider.hooks.status import one_spelling

        self.resource = one_spelling(resource, caller="ThredfiResourceSensor", strict=False)
        self.business_id = business_id
        self.resource_id = resource_id
        self.external_id = external_id
        self.filters = dict(filters or {})
        self.condition = condition
        self.min_count = min_count
        self.thredfi_conn_id = thredfi_conn_id
        self.deferrable = deferrable

    def _query(self) -> ResourceQuery:
        from thredfi_provider.hooks.status import ResourceQuery, normalise_condition

        mapping, _ = normalise_condition(self.condition)
        return ResourceQuery(
            resource=self.resource,
            business_id=self.business_id or None,
            resource_id=self.resource_id or None,
            external_id=self.external_id or None,
            filters=self.filters,
            condition=mapping,
            min_count=self.min_count,
        )

    def poke(self, context: Context) -> PokeReturnValue | bool:
        from thredfi_provider.hooks.status import describe_match, normalise_condition
        from thredfi_provider.hooks.task_state import task_state_from_errors

        _, predicate = normalise_condition(self.condition)
        with task_state_from_errors(transient="fail"):
            outcome = ThredfiHook(self.thredfi_conn_id).check_resource(self._query(), predicate)
        if not outcome.met:
            self.log.info("Thredfi %s not ready: %s", self.resource, outcome.reason)
            return False
        self.log.info("Thredfi sensor matched: %s", describe_match(self._query(), outcome.value))
        return PokeReturnValue(is_done=True, xcom_value=outcome.value)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from thredfi_provider.triggers.resource import ThredfiResourceTrigger

        query = self._query()  # validate before deferring
        first = self.poke(context)
        if isinstance(first, PokeReturnValue):
            return first.xcom_value
        self.defer(
            trigger=ThredfiResourceTrigger(
                thredfi_conn_id=self.thredfi_conn_id,
                query=query.to_dict(),
                poll_interval=float(self.poke_interval),
                timeout_at=time.time() + float(self.timeout),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout) + 60),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Turn the trigger's event into the task's outcome; an unexpected event fails clearly."""
        from thredfi_provider.compat import AirflowFailException, AirflowSensorTimeout, AirflowSkipException

        status = event.get("status") if isinstance(event, dict) else None
        if status == "success":
            from thredfi_provider.hooks.status import describe_match

            value = event.get("value") if isinstance(event, dict) else None
            self.log.info("Thredfi sensor matched: %s", describe_match(self._query(), value))
            return value
        if status in ("failure", "timeout"):
            message = str(event.get("message") or status) if isinstance(event, dict) else status
        else:
            message = f"unexpected event from the Thredfi trigger: {str(event)[:200]!r}"
        self.log.error("Thredfi %s sensor did not succeed: %s", self.resource, message)
        if self.soft_fail:
            raise AirflowSkipException(message)
        if status == "timeout":
            raise AirflowSensorTimeout(message)
        raise AirflowFailException(message)
