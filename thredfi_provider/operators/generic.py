"""Call any Thredfi endpoint the named operators do not cover, as ``HttpOperator`` calls any URL."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from thredfi_provider.hooks.task_state import task_state_from_errors
from thredfi_provider.operators.base_operator import ThredfiBaseOperator

if TYPE_CHECKING:
    import requests

    from thredfi_provider.compat import Context

# Headers the provider owns: the token (scoped to the business) and what says how to read the body.
RESERVED_HEADERS = frozenset({"authorization", "host", "content-length"})


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
    :param headers: extra request headers (templated), as ``HttpOperator``'s. ``Authorization``
        is the provider's: the token is always the business's own, so it cannot be set here.
    :param response_check: called with the response (and any context keys it names, e.g.
        ``ti``); returning ``False`` fails the task, as ``HttpOperator``'s does.
    :param response_filter: called like ``response_check``; its result is returned (and pushed to
        XCom) instead of the JSON body.
    :param log_response: log the response body at INFO.

    .. seealso:: :doc:`/operators/generic`
    """

    template_fields: Sequence[str] = (
        "thredfi_conn_id", "method", "path", "business_id", "json", "query_params", "idempotency_key",
        "headers",
    )  # fmt: skip
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "json": "json",
        "query_params": "json",
        "headers": "json",
    }

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
        headers: Mapping[str, str] | None = None,
        response_check: Callable[..., bool] | None = None,
        response_filter: Callable[..., Any] | None = None,
        log_response: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if paginate and (response_check or response_filter):
            raise ValueError(
                "ThredfiOperator: response_check and response_filter see one response; with paginate=True "
                "the operator returns every page's records (filter them downstream)"
            )
        self.headers = dict(headers or {})
        self.response_check = response_check
        self.response_filter = response_filter
        self.log_response = log_response
        self.method = method
        self.path = path
        self.business_id = business_id
        self.json = json
        self.query_params = dict(query_params or {})
        self.idempotency_key = idempotency_key
        self.paginate = paginate

    def execute(self, context: Context) -> Any:
        if "oauth2/token" in self.path.lower():
            raise ValueError(
                f"ThredfiOperator {self.task_id!r}: the token endpoints are the client's own; a token "
                "returned here would land in XCom and the log"
            )
        headers = self._headers()
        with task_state_from_errors():
            client = self.hook.get_conn()
            if self.paginate:
                records = list(
                    client.paginate(self.path, business_id=self.business_id or None, params=self.query_params)
                )
                if self.log_response:
                    self.log.info(
                        "Thredfi %s %s: %d records: %s", self.method.upper(), self.path, len(records), records
                    )
                return records
            response = client.request(
                self.method.upper(),
                self.path,
                business_id=self.business_id or None,
                json=self.json,
                params=self.query_params or None,
                headers=headers or None,
            )
        if self.log_response:
            self.log.info(
                "Thredfi %s %s answered %s: %s",
                self.method.upper(),
                self.path,
                response.status_code,
                response.text,
            )
        if self.response_check is not None and not _call(self.response_check, response, context):
            from thredfi_provider.compat import AirflowException

            raise AirflowException(f"Response check returned False for {self.method.upper()} {self.path}")
        if self.response_filter is not None:
            return _call(self.response_filter, response, context)
        from thredfi_provider.client.transport import read_json

        with task_state_from_errors():
            return read_json(response)

    def _headers(self) -> dict[str, str]:
        """The caller's headers, refused before any request if they would replace the provider's own."""
        reserved = sorted(name for name in self.headers if name.lower() in RESERVED_HEADERS)
        if reserved:
            raise ValueError(
                f"ThredfiOperator {self.task_id!r}: headers may not set {', '.join(reserved)}; the "
                "provider sends the business's own token and the body's length itself"
            )
        headers = {str(k): str(v) for k, v in self.headers.items()}
        if self.idempotency_key:
            headers["Idempotency-Key"] = self.idempotency_key
        return headers


def _call(fn: Callable[..., Any], response: requests.Response, context: Context) -> Any:
    """``fn(response, **the context keys it names)``: how ``HttpOperator`` calls its callables."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return fn(response)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return fn(response, **dict(context))
    names = [name for name in list(parameters)[1:] if name in context]
    return fn(response, **{name: context[name] for name in names})  # type: ignore[literal-required]
