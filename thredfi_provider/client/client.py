"""The Airflow-free Thredfi client: the one object scripts, the hook and the trigger hold.

It composes the HTTP transport (:mod:`.transport`), the requestor that adds tokens, retries
and typed errors (:mod:`.requestor`) and pagination (:mod:`.pagination`), and offers the
resource calls, each built from the one resource registry (:mod:`.resources`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Unpack

import requests

from thredfi_provider.client import pagination
from thredfi_provider.client.errors import ThredfiValidationError
from thredfi_provider.client.removed import RemovedMethods
from thredfi_provider.client.requestor import CallOptions, Requestor
from thredfi_provider.client.resources import BUSINESS, Resource, resolve
from thredfi_provider.client.settings import ClientSettings
from thredfi_provider.client.stats import ClientStats
from thredfi_provider.client.transport import Transport, make_session, read_json
from thredfi_provider.client.urls import segment

log = logging.getLogger(__name__)

ResourceRef = Resource | str


@dataclass(frozen=True)
class CreateResult:
    """A create call's outcome: the record and whether this call made it (201) or found it (200)."""

    record: dict[str, Any]
    created: bool
    # False when a retry met an existing record after an attempt whose answer was lost: that
    # attempt made it, or it was already there with another body. Compare before trusting it.
    confirmed: bool = True


class ThredfiClient(RemovedMethods):
    """Thread-safe client for the Thredfi Partner API.

    One instance is meant to be shared by every thread of a task (and every trigger of a
    triggerer process for the same connection): they share the connection pool and the
    token cache, which is what keeps token requests at two for a whole sync.

    ``resource`` arguments take a :class:`~thredfi_provider.client.resources.Resource`, its
    name (``"payment"``) or its path (``"invoices/payments"``).
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        on_secret: Callable[[str], None] | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        if settings.verify is False:
            log.warning("TLS certificate verification is OFF for %s (connection extra verify=false)",
                        settings.base_url)  # fmt: skip
        self.stats = ClientStats()
        self.transport = Transport(settings, session or make_session(settings), self.stats)
        self.requestor = Requestor(settings, self.transport, on_secret=on_secret, clock=clock, sleep=sleep)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> ThredfiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def secrets(self) -> frozenset[str]:
        """The key and its Basic form: what every error is scrubbed of, with the tokens it sent."""
        return self.requestor.secrets

    def business_token(self, business_id: str) -> str:
        """The cached business-scoped token (minting it if needed); for callers that embed a widget."""
        return self.requestor.tokens.get(segment(business_id, "business_id"))

    # ------------------------------------------------------------------ any call

    def request(self, method: str, path: str, **options: Unpack[CallOptions]) -> requests.Response:
        """One API call; see :meth:`~thredfi_provider.client.requestor.Requestor.request`."""
        response, _ = self.requestor.request(method, path, **options)
        return response

    def request_json(self, method: str, path: str, **options: Unpack[CallOptions]) -> Any:
        return read_json(self.request(method, path, **options))

    def iter_pages(
        self,
        path: str,
        *,
        business_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        page_size: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """One page at a time, the next fetched only when asked; see :mod:`.pagination`."""
        return pagination.iter_pages(
            self.requestor, path, business_id=business_id, params=params, page_size=page_size
        )

    def paginate(
        self,
        path: str,
        *,
        business_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Lazily yield every record of a list endpoint."""
        for page in self.iter_pages(path, business_id=business_id, params=params, page_size=page_size):
            yield from page

    # ------------------------------------------------------------------ resources

    def create(
        self,
        business_id: str | None,
        resource: ResourceRef,
        payload: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> CreateResult:
        """Create a record; safe to retry (``external_id`` or ``Idempotency-Key``)."""
        kind = resolve(resource)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        scope = kind.token_scope(business_id)
        response, maybe_applied = self.requestor.request(
            "POST", kind.collection(business_id), business_id=scope, json=dict(payload), headers=headers
        )
        body = kind.unwrap(read_json(response))
        created = response.status_code == 201
        meta = body.get("_meta") if isinstance(body, dict) else None
        if isinstance(meta, dict) and isinstance(meta.get("created"), bool):
            created = meta["created"]
        # A connection dropped after Thredfi saved the record: this call's own retry finds it.
        # It was created by this call, not found.
        return CreateResult(
            record=body, created=created or maybe_applied, confirmed=created or not maybe_applied
        )

    def get(self, business_id: str | None, resource: ResourceRef, record_id: str) -> dict[str, Any]:
        kind = resolve(resource)
        scope = kind.token_scope(business_id)
        return dict(
            kind.unwrap(self.request_json("GET", kind.item(business_id, record_id), business_id=scope))
        )

    def list_records(
        self,
        business_id: str | None,
        resource: ResourceRef,
        *,
        params: Mapping[str, Any] | None = None,
        **filters: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every record of a list, lazily; filters as keywords, or ``params`` for any name."""
        kind = resolve(resource)
        scope = kind.token_scope(business_id)
        return self.paginate(
            kind.collection(business_id), business_id=scope, params={**(params or {}), **filters}
        )

    def first_page(
        self, business_id: str | None, resource: ResourceRef, *, params: Mapping[str, Any] | None = None
    ) -> pagination.FirstPage:
        """Page 1 and the list's ``count``: what a full pass of this list would cost, in one request."""
        kind = resolve(resource)
        return pagination.first_page(
            self.requestor,
            kind.collection(business_id),
            business_id=kind.token_scope(business_id),
            params=params,
        )

    def read_all(
        self,
        business_id: str | None,
        resource: ResourceRef,
        *,
        params: Mapping[str, Any] | None = None,
        first: pagination.FirstPage | None = None,
        max_in_flight: int = 4,
    ) -> Iterator[dict[str, Any]]:
        """Every record of a list in one concurrent pass, order not kept (:func:`.pagination.read_all`)."""
        kind = resolve(resource)
        for page in pagination.read_all(
            self.requestor, kind.collection(business_id), business_id=kind.token_scope(business_id),
            params=params, first=first, max_in_flight=max_in_flight,
        ):  # fmt: skip
            yield from page

    def update(
        self,
        business_id: str | None,
        resource: ResourceRef,
        record_id: str,
        payload: Mapping[str, Any],
        *,
        method: str,
    ) -> dict[str, Any]:
        """``PUT`` an invoice or bill, ``PATCH`` a payment or business: idempotent, safe to retry."""
        kind = resolve(resource)
        scope = kind.token_scope(business_id)
        path = kind.item(business_id, record_id)
        return dict(kind.unwrap(self.request_json(method, path, business_id=scope, json=dict(payload))))

    def action(self, business_id: str, resource: ResourceRef, record_id: str, action: str) -> dict[str, Any]:
        """``void`` an invoice, ``archive`` a customer, ``unarchive`` a vendor: idempotent POSTs."""
        kind = resolve(resource)
        path = kind.item(business_id, record_id, action)
        return dict(
            kind.unwrap(self.request_json("POST", path, business_id=kind.token_scope(business_id), json={}))
        )

    def find_by_external_id(
        self, business_id: str | None, resource: ResourceRef, external_id: str
    ) -> dict[str, Any] | None:
        """Ask the server to filter by ``external_id``, and check every row here too: not every
        list endpoint documents the filter."""
        for record in self.list_records(business_id, resource, external_id=external_id):
            if record.get("external_id") == external_id:
                return record
        return None

    # ------------------------------------------------------------------ businesses (partner token)

    def list_businesses(self, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.list_records(None, BUSINESS, **filters)

    def create_business(self, payload: Mapping[str, Any]) -> CreateResult:
        return self.create(None, BUSINESS, payload)

    def get_business(self, business_id: str) -> dict[str, Any]:
        return self.get(None, BUSINESS, business_id)

    def update_business(self, business_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        return self.update(None, BUSINESS, business_id, payload, method="PATCH")

    # ------------------------------------------------------------------ reports

    def report(self, business_id: str, name: str, **params: Any) -> dict[str, Any]:
        """``profit-and-loss``, ``balance-sheet`` or ``cash-flow``; tolerates the array-wrapped examples."""
        path = f"businesses/{segment(business_id, 'business_id')}/reports/{segment(name, 'report')}/"
        body = self.request_json("GET", path, business_id=business_id, params=params)
        if isinstance(body, list) and len(body) == 1 and isinstance(body[0], dict):
            body = body[0]
        if not isinstance(body, dict):
            raise ThredfiValidationError(f"unexpected {name} report shape")
        return body
