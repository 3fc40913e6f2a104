"""The Airflow-free Thredfi client: one session, one token cache, one retry policy.

Everything that talks HTTP to Thredfi goes through :meth:`ThredfiClient.request`, so auth,
retries, error mapping and redaction exist exactly once; the hook, the operators and the
trigger are thin front doors onto it.
"""

from __future__ import annotations

import base64
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_random_exponential

from thredfi_provider.client import deadline
from thredfi_provider.client.errors import (
    ThredfiConnectionError,
    ThredfiError,
    ThredfiRetryLaterError,
    ThredfiTransientError,
    ThredfiValidationError,
    error_from_response,
)
from thredfi_provider.client.session import settle_environment
from thredfi_provider.client.settings import ClientSettings
from thredfi_provider.client.tokens import PARTNER_KEY, TokenCache, TokenGrant
from thredfi_provider.version import __version__

log = logging.getLogger(__name__)

API_PREFIX = "/v1/platform"
# Thredfi ids are UUIDs (CONTRACT.md §3); anything outside this alphabet could rewrite the URL.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
# What a relative path may not hold: a query, a fragment, a backslash, a space or a control character.
_UNSAFE_PATH_CHAR = re.compile(r"[?#\\\x00-\x20]")
_DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:/|$)")
USER_AGENT = f"airflow-provider-thredfi/{__version__} python-requests/{requests.__version__}"


@dataclass(frozen=True)
class CreateResult:
    """A create call's outcome: the record and whether this call made it (201) or found it (200)."""

    record: dict[str, Any]
    created: bool


@dataclass
class ClientStats:
    """Counters for token economy and retries, read by tests and benchmarks."""

    requests: int = 0
    token_requests: int = 0
    retries: int = 0
    reauthentications: int = 0


class ThredfiClient:
    """Thread-safe client for the Thredfi Partner API.

    One instance is meant to be shared by every thread of a task (and every trigger of a
    triggerer process for the same connection): they share the connection pool and the
    token cache, which is what keeps token requests at two for a whole sync.
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
        self._sleep = sleep
        self._on_secret = on_secret or (lambda _secret: None)
        self._secrets: set[str] = set()
        self._secrets_lock = threading.Lock()
        # The key, and its Basic form as a server might echo it back from the Authorization header.
        basic = base64.b64encode(f"{settings.partner_id}:{settings.api_key}".encode()).decode()
        for secret in (settings.api_key, basic):
            self._remember_secret(secret)
        if settings.verify is False:
            log.warning("TLS certificate verification is OFF for %s (connection extra verify=false)",
                        settings.base_url)  # fmt: skip
        self._session = session or self._make_session()
        self._tokens = TokenCache(self._fetch_token, max_margin=settings.token_refresh_margin, clock=clock)
        self._partner_body = "form"
        self.stats = ClientStats()
        self._stats_lock = threading.Lock()
        self._origin = _origin(settings.base_url)
        self._retrying = self._retry_policy()

    # ------------------------------------------------------------------ plumbing

    def _make_session(self) -> requests.Session:
        """One pooled session for the client's one origin, its environment read once.

        Proxies and the CA bundle from the environment are resolved here for ``base_url`` and
        ``trust_env`` is turned off, so requests stop rescanning the environment (and netrc)
        on every call; see :func:`~thredfi_provider.client.session.settle_environment`.
        """
        session = requests.Session()
        adapter = deadline.DeadlineAdapter(
            pool_connections=4, pool_maxsize=self.settings.pool_size, max_retries=0
        )
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers["User-Agent"] = USER_AGENT
        session.headers["Accept"] = "application/json"
        session.verify = self.settings.verify
        settle_environment(session, self.settings.base_url, self.settings.verify)
        return session

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ThredfiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def secrets(self) -> frozenset[str]:
        with self._secrets_lock:
            return frozenset(self._secrets)

    def _remember_secret(self, value: str) -> None:
        with self._secrets_lock:
            self._secrets.add(value)
        self._on_secret(value)

    def _count(self, name: str) -> None:
        with self._stats_lock:
            setattr(self.stats, name, getattr(self.stats, name) + 1)

    def _url(self, path_or_url: str) -> str:
        """The one place a request's URL is made: nothing leaves the configured origin.

        An absolute URL (a pagination ``next`` link, or a templated ``path``) is accepted only
        on the configured scheme, host and port, so a bearer token is never sent elsewhere. A
        relative path may not climb out of ``/v1/platform`` or carry its own query.
        """
        if "://" in path_or_url or path_or_url.startswith("//"):
            if _origin(path_or_url) != self._origin:
                raise ThredfiValidationError(
                    f"refusing to send a Thredfi token to {_safe_origin(path_or_url)}: only "
                    f"{self.settings.base_url} is configured"
                )
            url = path_or_url
            path = urlsplit(url).path
        else:
            if _UNSAFE_PATH_CHAR.search(path_or_url):
                raise ThredfiValidationError(
                    f"path {path_or_url[:80]!r} may not contain '?', '#', '\\' or spaces; pass query "
                    "parameters as params"
                )
            path = (
                path_or_url
                if path_or_url.startswith(API_PREFIX + "/")
                else API_PREFIX + "/" + path_or_url.lstrip("/")
            )
            if not path.endswith("/"):
                path += "/"
            url = self.settings.base_url + path
        if _DOT_SEGMENT.search(path):
            raise ThredfiValidationError(f"path {path[:80]!r} may not contain '.' or '..' segments")
        return url

    # ------------------------------------------------------------------ tokens

    def _fetch_token(self, key: str) -> TokenGrant:
        body = self._partner_token_request() if key == PARTNER_KEY else self._business_token_request(key)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise ThredfiError("token response has no access_token", path=API_PREFIX + "/oauth2/token/")
        self._remember_secret(token)
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else 3600.0
        return TokenGrant(token, lifetime)

    def _partner_token_request(self) -> dict[str, Any]:
        """Basic auth plus ``grant_type``: form first, the OpenAPI's JSON form if form is refused."""
        auth = (self.settings.partner_id, self.settings.api_key)
        path = API_PREFIX + "/oauth2/token/"
        attempts = ["form", "json"] if self._partner_body == "form" else ["json", "form"]
        last: ThredfiError | None = None
        for style in attempts:
            kwargs: dict[str, Any]
            if style == "form":
                kwargs = {"data": {"grant_type": "client_credentials"}}
            else:
                kwargs = {"json": {"grant_type": "client_credentials", "client_id": self.settings.partner_id}}
            response = self._send("POST", self._url(path), auth=auth, **kwargs)
            self._count("token_requests")
            if response.ok:
                self._partner_body = style
                return dict(_json(response))
            last = error_from_response(response, path=path).redact(self.secrets)
            if response.status_code not in (400, 415, 422):
                break
        assert last is not None
        raise last

    def _business_token_request(self, business_id: str) -> dict[str, Any]:
        path = f"{API_PREFIX}/{segment(business_id, 'business_id')}/oauth2/token/"
        for attempt in range(2):
            partner_token = self._tokens.get(PARTNER_KEY)
            response = self._send("POST", self._url(path), headers=_bearer(partner_token))
            self._count("token_requests")
            if response.status_code == 401 and attempt == 0:
                self._tokens.invalidate(PARTNER_KEY, partner_token)
                self._count("reauthentications")
                continue
            if not response.ok:
                raise error_from_response(response, path=path).redact(self.secrets)
            return dict(_json(response))
        raise AssertionError("unreachable")  # pragma: no cover

    def business_token(self, business_id: str) -> str:
        """The cached business-scoped token (minting it if needed); for callers that embed a widget."""
        return self._tokens.get(business_id)

    # ------------------------------------------------------------------ requests

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One HTTP exchange, bounded as a whole by ``attempt_timeout`` (and the call's deadline)."""
        self._count("requests")
        with deadline.deadline(self.settings.attempt_timeout):
            left = deadline.remaining()
            timeout = self.settings.timeout if left is None else max(0.001, min(self.settings.timeout, left))
            try:
                return self._exchange(method, url, timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                left = deadline.remaining()
                reason = (
                    "no complete answer within the attempt's deadline"
                    if left is not None and left <= 0
                    else f"{type(exc).__name__} talking to Thredfi"
                )
                raise ThredfiConnectionError(reason, method=method, path=urlsplit(url).path) from None

    def _exchange(
        self, method: str, url: str, timeout: float, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        """What ``Session.request`` sends, without its per-request re-merging of the session.

        ``Session.request`` merges the session's headers, cookies, hooks, params, auth and
        proxies into every request through ``requests``' generic ``merge_setting`` (a runtime
        ``Protocol`` check per mapping) and rescans the environment when ``trust_env`` is on;
        for the client's own session, whose environment was settled when it was built, that is
        about a tenth of a request's CPU, for the same answer every time. The request prepared
        here is the one ``Session.request`` would prepare: the session's headers under the
        call's (``None`` values dropped), its cookie jar and its hooks; ``Session.send`` adds
        its proxies, ``verify`` and redirects. A session that still reads the environment, or
        carries its own auth or params, goes through ``Session.request`` unchanged.
        """
        session = self._session
        if session.trust_env or session.auth is not None or session.params:
            return session.request(method, url, timeout=timeout, headers=headers, **kwargs)
        merged = {**session.headers, **(headers or {})}
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=method,
            url=url,
            headers={name: value for name, value in merged.items() if value is not None},
            cookies=session.cookies,
            hooks=session.hooks,
            **kwargs,
        )
        return session.send(prepared, timeout=timeout, allow_redirects=True)

    def _retry_policy(self) -> Retrying:
        """Built once per client; tenacity keeps each call's state per thread, so threads share it.

        The whole call, waits included, stays inside its deadline (``max_retry_seconds``, or
        less when the caller set a tighter :func:`deadline.deadline`, as a trigger's poll does):
        a wait that would reach it stops the call instead (:class:`_OutOfTime`), and a server
        asking for more than is left gets a :class:`ThredfiRetryLaterError` (see :meth:`request`).
        """
        backoff = wait_random_exponential(
            multiplier=self.settings.backoff_initial, max=self.settings.backoff_max
        )

        def wait(retry_state: RetryCallState) -> float:
            exc = retry_state.outcome.exception() if retry_state.outcome else None
            retry_after = getattr(exc, "retry_after", None)
            if isinstance(retry_after, int | float):
                # Honour the server, with a little jitter so parallel workers do not return in lockstep.
                return float(retry_after) + random.uniform(0, self.settings.backoff_initial)
            return float(backoff(retry_state))

        def before_sleep(retry_state: Any) -> None:
            self._count("retries")
            exc = retry_state.outcome.exception() if retry_state.outcome else None
            log.warning(
                "Thredfi call failed (attempt %d), retrying in %.2fs: %s",
                retry_state.attempt_number,
                retry_state.next_action.sleep if retry_state.next_action else 0.0,
                exc,
            )

        return Retrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, ThredfiTransientError)),
            stop=stop_after_attempt(self.settings.max_retries + 1) | _OutOfTime(),
            wait=wait,
            before_sleep=before_sleep,
            sleep=self._sleep,
            reraise=True,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        business_id: str | None = None,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send one API call with the right token, retrying transient faults; raise typed errors.

        ``business_id`` selects the business-scoped token; without it the partner token is used.
        Retrying a POST is safe because every create carries an ``external_id`` or an
        ``Idempotency-Key`` (see the operators); the 200 "already exists" reply is success.
        """
        url = self._url(path)
        key = segment(business_id, "business_id") if business_id else PARTNER_KEY
        request_path = urlsplit(url).path
        budget = self.settings.max_retry_seconds

        maybe_applied = False  # an earlier attempt of this call may have reached Thredfi

        def attempt() -> requests.Response:
            nonlocal maybe_applied
            try:
                response = exchange()
            except ThredfiConnectionError:
                maybe_applied = True
                raise
            response.thredfi_maybe_applied_before = maybe_applied  # type: ignore[attr-defined]
            return response

        def exchange() -> requests.Response:
            token = self._tokens.get(key)
            response = self._send(
                method, url, json=json, params=params, headers={**(headers or {}), **_bearer(token)}
            )
            if response.status_code == 401:
                # Expired or revoked: mint a fresh token once, then trust the answer.
                self._tokens.invalidate(key, token)
                self._count("reauthentications")
                token = self._tokens.get(key)
                response = self._send(
                    method, url, json=json, params=params, headers={**(headers or {}), **_bearer(token)}
                )
            if not response.ok:
                raise error_from_response(response, path=request_path).redact(self.secrets)
            return response

        with deadline.deadline(budget):
            try:
                try:
                    # Most calls succeed first time: try once before paying for tenacity's
                    # bookkeeping, and hand a transient failure to the policy as its attempt 1.
                    response: requests.Response = attempt()
                except ThredfiTransientError as first:
                    replay = [first]

                    def again() -> requests.Response:
                        if replay:
                            raise replay.pop()
                        return attempt()

                    response = self._retrying(again)
            except ThredfiTransientError as exc:
                retry_after = getattr(exc, "retry_after", None)
                left = max(0.0, deadline.remaining() or 0.0)
                if isinstance(retry_after, int | float) and retry_after > left:
                    raise _retry_later(exc, retry_after, left, method, request_path) from None
                raise
        return response

    def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        return _json(self.request(method, path, **kwargs))

    # ------------------------------------------------------------------ pagination

    def iter_pages(
        self,
        path: str,
        *,
        business_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        page_size: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield one page of results at a time, fetching the next only when asked.

        Works with both published envelopes: ``count/next/previous/results`` (pagination
        guide) and ``count/page_info/results`` (API reference). A ``next`` URL to another
        origin is refused by :meth:`_url`, so a token is never sent elsewhere. A server that
        points back at a page already read, or runs past what its ``count`` allows, ends the
        listing with an error instead of looping for ever.
        """
        size = min(page_size or self.settings.page_size, self.settings.page_size)
        query = {k: v for k, v in (params or {}).items() if v is not None}
        page = int(query.pop("page", 1))
        query["page_size"] = size
        target: str = path
        next_params: dict[str, Any] | None = {**query, "page": page}
        seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        max_pages: int | None = None
        while True:
            marker = (self._url(target), tuple(sorted((k, str(v)) for k, v in (next_params or {}).items())))
            if marker in seen:
                raise ThredfiError(
                    f"pagination loop: the server pointed back at a page already read (page {page})",
                    path=urlsplit(marker[0]).path,
                )
            seen.add(marker)
            if max_pages is not None and len(seen) > max_pages:
                raise ThredfiError(
                    f"pagination ran past {max_pages} pages, more than its count allows",
                    path=urlsplit(marker[0]).path,
                )
            body = self.request_json("GET", target, business_id=business_id, params=next_params)
            if isinstance(body, list):
                yield body
                return
            results = body.get("results") or []
            count = body.get("count")
            if max_pages is None and isinstance(count, int) and count >= 0:
                # One spare page: the list may grow while we read it.
                max_pages = max(1, math.ceil(count / max(1, len(results) or size))) + 1
            yield results
            if not results:
                return
            next_url = body.get("next")
            page_info = body.get("page_info") if isinstance(body.get("page_info"), dict) else None
            if isinstance(next_url, str) and next_url:
                absolute = urljoin(self.settings.base_url + "/", next_url)
                if _origin(absolute) == self._origin:
                    target, next_params = absolute, None
                    page += 1
                    continue
                # A proxy may rewrite the scheme or host of its links; the token stays home.
                log.warning("Ignoring a pagination 'next' link to another origin; paging by number instead")
            elif "next" in body and page_info is None:
                return  # explicit null: last page
            if page_info is not None and page_info.get("total_pages") is not None:
                current = int(page_info.get("current_page") or page)
                if current >= int(page_info["total_pages"]):
                    return
                page = current + 1
            else:
                if isinstance(count, int) and page * size >= count:
                    return
                if len(results) < size:
                    return
                page += 1
            target, next_params = path, {**query, "page": page}

    def paginate(self, path: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Lazily yield every record of a list endpoint."""
        for page in self.iter_pages(path, **kwargs):
            yield from page

    # ------------------------------------------------------------------ helpers for resources

    def _create(
        self,
        path: str,
        payload: Mapping[str, Any],
        *,
        business_id: str | None = None,
        idempotency_key: str | None = None,
        unwrap: str | None = None,
    ) -> CreateResult:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        response = self.request("POST", path, business_id=business_id, json=dict(payload), headers=headers)
        body = _json(response)
        if unwrap and isinstance(body, dict) and isinstance(body.get(unwrap), dict):
            body = body[unwrap]
        created = response.status_code == 201
        meta = body.get("_meta") if isinstance(body, dict) else None
        if isinstance(meta, dict) and isinstance(meta.get("created"), bool):
            created = meta["created"]
        # A connection dropped after Thredfi saved the record: this call's own retry finds it.
        # It was created by this call, not found.
        created = created or bool(getattr(response, "thredfi_maybe_applied_before", False))
        return CreateResult(record=body, created=created)

    def find_by_external_id(
        self, path: str, external_id: str, *, business_id: str | None = None
    ) -> dict[str, Any] | None:
        """Find a record by ``external_id``: ask the server to filter, and check client-side too,
        because not every list endpoint documents the filter."""
        for record in self.paginate(path, business_id=business_id, params={"external_id": external_id}):
            if record.get("external_id") == external_id:
                return record
        return None

    # ------------------------------------------------------------------ businesses

    def list_businesses(self, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.paginate("businesses/", params=filters)

    def create_business(self, payload: Mapping[str, Any]) -> CreateResult:
        return self._create("businesses/", payload)

    def get_business(self, business_id: str) -> dict[str, Any]:
        return dict(self.request_json("GET", f"businesses/{segment(business_id, 'business_id')}/"))

    def update_business(self, business_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        path = f"businesses/{segment(business_id, 'business_id')}/"
        return dict(self.request_json("PATCH", path, json=dict(payload)))

    # ------------------------------------------------------------------ business-scoped resources

    def create(
        self,
        business_id: str,
        resource: str,
        payload: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> CreateResult:
        """Create any business resource (``customers``, ``invoices``, ``bills/payments`` ...)."""
        unwrap = "payment" if resource == "invoices/payments" else None
        return self._create(
            f"businesses/{segment(business_id, 'business_id')}/{resource}/",
            payload,
            business_id=business_id,
            idempotency_key=idempotency_key,
            unwrap=unwrap,
        )

    def get(self, business_id: str, resource: str, resource_id: str) -> dict[str, Any]:
        path = f"businesses/{segment(business_id, 'business_id')}/{resource}/{segment(resource_id, 'id')}/"
        body = self.request_json("GET", path, business_id=business_id)
        if resource == "invoices/payments" and isinstance(body.get("payment"), dict):
            body = body["payment"]
        return dict(body)

    def list_records(self, business_id: str, resource: str, **filters: Any) -> Iterator[dict[str, Any]]:
        path = f"businesses/{segment(business_id, 'business_id')}/{resource}/"
        return self.paginate(path, business_id=business_id, params=filters)

    def create_customer(self, business_id: str, payload: Mapping[str, Any]) -> CreateResult:
        return self.create(business_id, "customers", payload)

    def create_vendor(self, business_id: str, payload: Mapping[str, Any]) -> CreateResult:
        return self.create(business_id, "vendors", payload)

    def create_invoice(self, business_id: str, payload: Mapping[str, Any]) -> CreateResult:
        return self.create(business_id, "invoices", payload)

    def void_invoice(self, business_id: str, invoice_id: str) -> dict[str, Any]:
        invoice = segment(invoice_id, "invoice_id")
        path = f"businesses/{segment(business_id, 'business_id')}/invoices/{invoice}/void/"
        return dict(self.request_json("POST", path, business_id=business_id, json={}))

    def update(
        self, business_id: str, resource: str, record_id: str, payload: Mapping[str, Any], *, method: str
    ) -> dict[str, Any]:
        """``PUT`` an invoice or bill, ``PATCH`` a payment: idempotent by nature, safe to retry."""
        path = f"businesses/{segment(business_id, 'business_id')}/{resource}/{segment(record_id, 'id')}/"
        body = self.request_json(method, path, business_id=business_id, json=dict(payload))
        if isinstance(body, dict) and isinstance(body.get("payment"), dict):
            body = body["payment"]
        return dict(body)

    def archive_customer(self, business_id: str, customer_id: str) -> dict[str, Any]:
        customer = segment(customer_id, "id")
        path = f"businesses/{segment(business_id, 'business_id')}/customers/{customer}/archive/"
        return dict(self.request_json("POST", path, business_id=business_id, json={}))

    def unarchive_vendor(self, business_id: str, vendor_id: str) -> dict[str, Any]:
        vendor = segment(vendor_id, "id")
        path = f"businesses/{segment(business_id, 'business_id')}/vendors/{vendor}/unarchive/"
        return dict(self.request_json("POST", path, business_id=business_id, json={}))

    def record_payment(
        self, business_id: str, payload: Mapping[str, Any], idempotency_key: str
    ) -> CreateResult:
        return self.create(business_id, "invoices/payments", payload, idempotency_key=idempotency_key)

    def create_bill(self, business_id: str, payload: Mapping[str, Any]) -> CreateResult:
        return self.create(business_id, "bills", payload)

    def record_bill_payment(
        self, business_id: str, payload: Mapping[str, Any], idempotency_key: str
    ) -> CreateResult:
        return self.create(business_id, "bills/payments", payload, idempotency_key=idempotency_key)

    def list_accounts(self, business_id: str, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.list_records(business_id, "general-ledger/chart-of-accounts", **filters)

    def list_journal_entries(self, business_id: str, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.list_records(business_id, "general-ledger/journal-entries", **filters)

    def get_journal_entry(self, business_id: str, entry_id: str) -> dict[str, Any]:
        return self.get(business_id, "general-ledger/journal-entries", entry_id)

    def report(self, business_id: str, name: str, **params: Any) -> dict[str, Any]:
        """``profit-and-loss``, ``balance-sheet`` or ``cash-flow``; tolerates the array-wrapped examples."""
        path = f"businesses/{segment(business_id, 'business_id')}/reports/{segment(name, 'report')}/"
        body = self.request_json("GET", path, business_id=business_id, params=params)
        if isinstance(body, list) and len(body) == 1 and isinstance(body[0], dict):
            body = body[0]
        if not isinstance(body, dict):
            raise ThredfiValidationError(f"unexpected {name} report shape")
        return body


class _OutOfTime(stop_base):
    """Stop when the next wait would reach the thread's deadline: no attempt would fit after it."""

    def __call__(self, retry_state: RetryCallState) -> bool:
        left = deadline.remaining()
        return left is not None and (retry_state.upcoming_sleep or 0.0) >= left


def _retry_later(
    exc: ThredfiTransientError, retry_after: float, left: float, method: str, path: str
) -> ThredfiRetryLaterError:
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + retry_after))
    return ThredfiRetryLaterError(
        f"Thredfi asked to retry after {retry_after:.0f}s, more than the {left:.0f}s left of this "
        f"call's retry budget (max_retry_seconds); come back after {when}",
        retry_after=float(retry_after),
        status=exc.status,
        error_code=exc.error_code,
        request_id=exc.request_id,
        method=method.upper(),
        path=path,
    )


def segment(value: str, field: str) -> str:
    """An id as one URL path segment, refused (before any request) if it could rewrite the URL.

    Ids come from source records; ``"b1?x="`` or ``"../../oauth2/token"`` must not become a
    different, bearer-authenticated request.
    """
    if not isinstance(value, str) or not _ID.match(value):
        raise ThredfiValidationError(
            f"{field} {str(value)[:80]!r} is not a Thredfi id (letters, digits, '-' and '_' only)",
            error_code="invalid_id",
            details={field: "not a Thredfi id"},
        )
    return value


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        port = -1
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _safe_origin(url: str) -> str:
    """Scheme, host and port only: never echo a URL's userinfo, path or query into an error."""
    scheme, host, port = _origin(url)
    return f"{scheme}://{host}:{port}" if host else "another origin"


def _json(response: requests.Response) -> Any:
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        raise ThredfiError(
            "Thredfi answered with a body that is not JSON",
            status=response.status_code,
            path=urlsplit(response.url).path,
        ) from None
