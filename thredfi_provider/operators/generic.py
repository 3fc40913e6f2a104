"""Call any Thredfi endpoint the named operators do not cover."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from thredfi_provider.operators.base_operator import ThredfiBaseOperator, task_state_from_errors

if TYPE_CHECKING:
    from thredfi_provider.compat import Context


class ThredfiOperator(ThredfiBaseOperator):
    """One API call with the provider's auth, retries and error handling; returns the JSON body.

    :param method: HTTP method.
    :param path: path under ``/v1/platform/`` (e.g. ``businesses/{id}/vendor-credits/``).
    :param business_id: use this business's scoped token (omit for partner-level endpoints).
    :param json: request body. Creates should carry an ``external_id`` so a retry is harmless.
    :param query_params: query parameters. (``params`` is Airflow's own: the DAG's params, which
        Airflow hands every operator; they are never sent to Thredfi.)
    :param idempotency_key: sent as ``Idempotency-Key`` for endpoints that honour it.
    :param paginate: read every page of a list endpoint and return the records (mind XCom size).

    .. seealso:: :doc:`/operators/generic`
    """

    template_fields: Sequence[str] = (
        "thredfi_conn_id", "method", "path", "business_id", "json", "query_params", "idempotency_key",
    )  # fmt: skip
    template_fields_renderers: ClassVar[dict[str, str]] = {"json": "json", "query_params": "json"}

    def __init__(
        self,
        *,
        method: str = "GET",
        path: str,
        business_id: str | None = None,
        json: Any = None,
        query_params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        paginate: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.method = method
        self.path = path
        self.business_id = business_id
        self.json = json
        self.query_params = dict(query_params or {})
        self.idempotency_key = idempotency_key
        self.paginate = paginate

    def execute(self, context: Context) -> Any:
        headers = {"Idempotency-Key": self.idempotency_key} if self.idempotency_key else None
        with task_state_from_errors():
            client = self.hook.get_conn()
            if self.paginate:
                return list(
                    client.paginate(self.path, business_id=self.business_id or None, params=self.query_params)
                )
            return client.request_json(
                self.method.upper(),
                self.path,
                business_id=self.business_id or None,
                json=self.json,
                params=self.query_params or None,
                headers=headers,
            )
