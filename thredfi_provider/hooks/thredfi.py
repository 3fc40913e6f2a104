"""Airflow glue: an Airflow connection becomes a shared, secret-masking Thredfi client."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from thredfi_provider.client import ClientSettings, ThredfiClient

_CLIENTS: dict[ClientSettings, ThredfiClient] = {}
_CLIENTS_LOCK = threading.Lock()


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def mask(secret: str) -> None:
    """Register a secret with Airflow's masker (task logs, supervisor logs, rendered fields)."""
    from airflow.sdk.log import mask_secret

    mask_secret(secret)


def settings_from_connection(conn: Connection) -> ClientSettings:
    """Map an Airflow connection to client settings.

    login = partner UUID, password = API key, host = environment name
    (``production``/``staging``/``development``/``sandbox``) or base URL; extras tune the client.
    """
    from thredfi_provider.client import ClientSettings, resolve_base_url

    extra = conn.extra_dejson or {}
    allow_http = _truthy(extra.get("allow_insecure_http", False))
    base = extra.get("base_url") or conn.host or ""
    if base and "://" not in base and base.lower() not in {"production", "staging", "development", "sandbox"}:
        base = f"{extra.get('scheme', 'https')}://{base}"
    if conn.port and base and "://" in base and base.count(":") < 2:
        base = f"{base.rstrip('/')}:{conn.port}"
    options: dict[str, Any] = {}
    for name, cast in (
        ("timeout", float),
        ("max_retries", int),
        ("max_retry_seconds", float),
        ("page_size", int),
        ("pool_size", int),
        ("backoff_initial", float),
        ("backoff_max", float),
    ):
        if extra.get(name) not in (None, ""):
            options[name] = cast(extra[name])
    verify = extra.get("verify", True)
    if isinstance(verify, str) and verify.lower() in {"true", "false", "1", "0", "yes", "no"}:
        verify = _truthy(verify)
    return ClientSettings(
        base_url=resolve_base_url(base or None, allow_insecure_http=allow_http),
        partner_id=conn.login or "",
        api_key=conn.password or "",
        verify=verify,
        **options,
    )


def shared_client(settings: ClientSettings) -> ThredfiClient:
    """One client per connection settings per process: tasks' threads and a triggerer's triggers
    share its session and token cache (that is what keeps token requests at two per sync)."""
    from thredfi_provider.client import ThredfiClient

    with _CLIENTS_LOCK:
        client = _CLIENTS.get(settings)
        if client is None:
            client = _CLIENTS[settings] = ThredfiClient(settings, on_secret=mask)
        return client


class ThredfiHook(BaseHook):
    """Interact with the Thredfi Partner API.

    :param thredfi_conn_id: Airflow connection id: login = partner UUID, password = API key,
        host = environment name or base URL.

    Example::

        hook = ThredfiHook()
        for invoice in hook.get_conn().list_records(business_id, "invoices", status="paid"):
            ...
    """

    conn_name_attr = "thredfi_conn_id"
    default_conn_name = "thredfi_default"
    conn_type = "thredfi"
    hook_name = "Thredfi"

    def __init__(self, thredfi_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.thredfi_conn_id = thredfi_conn_id
        self._client: ThredfiClient | None = None

    @property
    def settings(self) -> ClientSettings:
        return settings_from_connection(self.get_connection(self.thredfi_conn_id))

    def get_conn(self) -> ThredfiClient:
        if self._client is None:
            self._client = shared_client(self.settings)
        return self._client

    @property
    def client(self) -> ThredfiClient:
        return self.get_conn()

    def test_connection(self) -> tuple[bool, str]:
        """One cheap authenticated call: mint the partner token and read one page of businesses."""
        from thredfi_provider.client import ThredfiError

        try:
            client = self.get_conn()
            page = next(client.iter_pages("businesses/", page_size=1), [])
        except (ThredfiError, ValueError) as exc:
            return False, str(exc)
        return (
            True,
            f"Connected to {client.settings.base_url} ({'some' if page else 'no'} businesses visible)",
        )

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        from thredfi_provider.get_provider_info import UI_FIELD_BEHAVIOUR

        return {
            "hidden_fields": UI_FIELD_BEHAVIOUR["hidden-fields"],
            "relabeling": UI_FIELD_BEHAVIOUR["relabeling"],
            "placeholders": UI_FIELD_BEHAVIOUR["placeholders"],
        }
