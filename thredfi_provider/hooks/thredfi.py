"""Airflow glue: an Airflow connection becomes a shared, secret-masking Thredfi client."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from thredfi_provider.compat import BaseHook
from thredfi_provider.hooks.connection import settings_from_connection

if TYPE_CHECKING:
    from collections.abc import Callable

    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.client.settings import ClientSettings
    from thredfi_provider.hooks.status import Look, ResourceQuery

__all__ = ["ThredfiHook", "settings_from_connection", "shared_client"]

# A few clients per process: an api-server that tests many connections (or one connection
# whose key was rotated) must not keep every old key and session alive for ever.
MAX_CLIENTS = 8
# How long a triggerer trusts a connection it has read before reading it again (key rotation).
CONNECTION_TTL_SECONDS = 300.0
# "Test connection" is a click in the UI: one attempt, and an answer within seconds.
TEST_CONNECTION_SECONDS = 10.0

_CLIENTS: OrderedDict[ClientSettings, ThredfiClient] = OrderedDict()
_CLIENTS_LOCK = threading.Lock()  # guards the dict only; never held while building or closing
_SETTINGS: dict[str, tuple[float, asyncio.Future[ClientSettings]]] = {}


def mask(secret: str) -> None:
    """Register a secret with Airflow's masker (task logs, supervisor logs, rendered fields)."""
    from thredfi_provider.compat import mask_secret

    mask_secret(secret)


def shared_client(settings: ClientSettings) -> ThredfiClient:
    """One client per connection settings per process, least recently used first out.

    A task's threads and a triggerer's triggers share its session and token cache (that is
    what keeps token requests at two per sync). The lock guards the dict only: building a
    client registers secrets with Airflow's masker, which inside a triggerer may yield to the
    event loop, so it happens outside the lock (a lost race builds one spare client, closed).
    Call it from a worker thread in a triggerer, never from the event loop.
    """
    from thredfi_provider.client.client import ThredfiClient

    with _CLIENTS_LOCK:
        client = _CLIENTS.get(settings)
        if client is not None:
            _CLIENTS.move_to_end(settings)
            return client
    built = ThredfiClient(settings, on_secret=mask)
    evicted: list[ThredfiClient] = []
    with _CLIENTS_LOCK:
        client = _CLIENTS.setdefault(settings, built)
        _CLIENTS.move_to_end(settings)
        while len(_CLIENTS) > MAX_CLIENTS:
            evicted.append(_CLIENTS.popitem(last=False)[1])
    if client is not built:
        evicted.append(built)
    for old in evicted:
        old.close()
    return client


def _peek_client(settings: ClientSettings) -> ThredfiClient | None:
    """The shared client if one exists, for the event loop: never builds, never waits on the lock."""
    if not _CLIENTS_LOCK.acquire(blocking=False):
        return None
    try:
        client = _CLIENTS.get(settings)
        if client is not None:
            _CLIENTS.move_to_end(settings)
        return client
    finally:
        _CLIENTS_LOCK.release()


def clear_shared_clients() -> None:
    """Forget every shared client (a fresh process's state; for tests and benchmarks)."""
    with _CLIENTS_LOCK:
        clients = list(_CLIENTS.values())
        _CLIENTS.clear()
    _SETTINGS.clear()
    for client in clients:
        client.close()


class ThredfiHook(BaseHook):
    """Interact with the Thredfi Partner API.

    :param thredfi_conn_id: Airflow connection id: login = partner UUID, password = API key,
        host = environment name or base URL.

    .. seealso:: :doc:`/connection`
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

    async def aget_conn(self) -> ThredfiClient:
        """The shared client, for a trigger: nothing here blocks or masks on the event loop.

        The connection is read once per connection id per process (concurrent first callers
        share one lookup) and again after :data:`CONNECTION_TTL_SECONDS`, so a rotated key is
        picked up within minutes while 2,000 triggers cost one lookup, not 2,000.
        """
        client = self._client
        if client is None:
            settings = await _cached_settings(self.thredfi_conn_id)
            # Built once, in a worker thread; every later trigger takes it without a thread hop.
            client = _peek_client(settings)
            if client is None:
                client = await asyncio.to_thread(shared_client, settings)
            self._client = client
        return client

    def check_resource(
        self, query: ResourceQuery, predicate: Callable[[dict[str, Any]], bool] | None = None
    ) -> Look:
        """One look at what a sensor waits for; the poke and the trigger both call this."""
        from thredfi_provider.hooks.status import evaluate

        return evaluate(self.get_conn(), query, predicate)

    def test_connection(self) -> tuple[bool, str]:
        """One attempt with a short deadline: mint the partner token, read one business.

        A click in the UI holds an api-server thread; it must never wait out a retry budget
        or a server's ``Retry-After``.
        """
        from thredfi_provider.client.client import ThredfiClient
        from thredfi_provider.client.errors import ThredfiError

        try:
            settings = dataclasses.replace(
                self.settings,
                max_retries=0,
                max_retry_seconds=TEST_CONNECTION_SECONDS,
                attempt_timeout=TEST_CONNECTION_SECONDS,
            )
            with ThredfiClient(settings, on_secret=mask) as client:
                page = next(client.iter_pages("businesses/", page_size=1), [])
        except (ThredfiError, ValueError) as exc:
            return False, str(exc)
        visible = "some" if page else "no"
        return True, f"Connected to {settings.base_url} ({visible} businesses visible)"

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The connection form's extra fields for Airflow before 3.2, built from ``CONN_FIELDS``.

        Airflow 3.2 and later read the declarative ``conn-fields`` in the provider info and never
        call this; older lines only know this form. One definition feeds both, so the two forms
        cannot drift. Field values are stored in the extra under their plain names, as the
        declarative form stores them. (Airflow 3.0 without the FAB provider has no wtforms and
        shows no provider's form fields at all; the extras are then set as JSON in Extra.)
        """
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, IntegerField, StringField
        from wtforms.validators import NumberRange, Optional

        from thredfi_provider.get_provider_info import CONN_FIELDS

        widgets: dict[str, Any] = {}
        for name, field in CONN_FIELDS.items():
            schema = field["schema"]
            kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            label = lazy_gettext(field["label"])
            if "boolean" in kinds:
                widgets[name] = BooleanField(
                    label, description=field["description"], default=schema.get("default")
                )
                continue
            bounds = NumberRange(
                min=schema.get("minimum", schema.get("exclusiveMinimum")), max=schema.get("maximum")
            )
            # Numbers that may be fractional are typed as text: wtforms has no float field Airflow allows.
            field_class = IntegerField if "integer" in kinds else StringField
            widgets[name] = field_class(
                label,
                description=field["description"],
                validators=[Optional(), bounds] if field_class is IntegerField else [Optional()],
                widget=BS3TextFieldWidget(),
                default=schema.get("default"),
            )
        return widgets

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        from thredfi_provider.get_provider_info import UI_FIELD_BEHAVIOUR

        return {
            "hidden_fields": UI_FIELD_BEHAVIOUR["hidden-fields"],
            "relabeling": UI_FIELD_BEHAVIOUR["relabeling"],
            "placeholders": UI_FIELD_BEHAVIOUR["placeholders"],
        }


_WAITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _waiters(loop: asyncio.AbstractEventLoop, conn_id: str) -> asyncio.Lock:
    """The lock that releases a connection's waiting triggers one per loop iteration."""
    return _WAITERS.setdefault(loop, {}).setdefault(conn_id, asyncio.Lock())


async def _cached_settings(conn_id: str) -> ClientSettings:
    """Settings per connection id, looked up at most once per TTL by all triggers together.

    An ``asyncio`` future, not a thread lock, coordinates concurrent callers: waiting on it
    yields to the loop instead of blocking it.
    """
    loop = asyncio.get_running_loop()
    cached = _SETTINGS.get(conn_id)
    if cached is not None:
        fetched_at, future = cached
        failed = future.done() and (future.cancelled() or future.exception() is not None)
        if (
            future.get_loop() is loop
            and not failed
            and time.monotonic() - fetched_at < CONNECTION_TTL_SECONDS
        ):
            try:
                if future.done():
                    return future.result()
                # Queue behind a lock rather than on the future: a future wakes all its waiters
                # in one loop iteration (2,000 triggers starting together stalled the loop for
                # ~100 ms), a lock wakes them one per iteration.
                async with _waiters(loop, conn_id):
                    return await asyncio.shield(future)
            except asyncio.CancelledError:
                if not future.cancelled():
                    raise  # we were cancelled, not the lookup
                # the trigger doing the lookup was cancelled: look it up ourselves
    # Airflow 3.3.2's own async lookup where it is safe; a worker thread on older lines, whose
    # aget_connection is missing (before 3.1) or masks synchronously and can deadlock the loop.
    from thredfi_provider.compat import get_async_connection

    future = loop.create_future()
    _SETTINGS[conn_id] = (time.monotonic(), future)
    try:
        connection = await get_async_connection(conn_id, hook=ThredfiHook)
        settings = settings_from_connection(connection)
    except BaseException as exc:
        if _SETTINGS.get(conn_id, (0.0, None))[1] is future:
            del _SETTINGS[conn_id]
        if isinstance(exc, asyncio.CancelledError):
            future.cancel()
        else:
            future.set_exception(exc)
            future.exception()  # marked as retrieved; waiters re-raise it, later callers look again
        raise
    future.set_result(settings)
    return settings
