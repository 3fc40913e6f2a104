"""The requestor: the right token on every call, one retry policy, typed and redacted errors.

Every API call goes through :meth:`Requestor.request` (the client's ``request`` and
``request_json`` are its front doors), and every token request through the same transport and redaction here,
so auth, retries, error mapping and redaction exist exactly once; the client's resource
methods, the hook, the operators and the trigger are thin front doors onto it.
"""

from __future__ import annotations

import base64
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypedDict, Unpack
from urllib.parse import urlsplit

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
    error_from_response,
)
from thredfi_provider.client.settings import ClientSettings
from thredfi_provider.client.stats import ClientStats
from thredfi_provider.client.tokens import PARTNER_KEY, TokenCache, TokenGrant
from thredfi_provider.client.transport import Transport, read_json
from thredfi_provider.client.urls import API_PREFIX, UrlGuard, segment

log = logging.getLogger(__name__)


class CallOptions(TypedDict, total=False):
    """What one API call may carry besides its method and path, typed once for every front door."""

    business_id: str | None
    json: Any
    params: Mapping[str, Any] | None
    headers: Mapping[str, str] | None


class Requestor:
    """Thread-safe: one per client, shared by every thread (and trigger) using that client."""

    def __init__(
        self,
        settings: ClientSettings,
        transport: Transport,
        *,
        on_secret: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.stats: ClientStats = transport.stats
        self.urls = UrlGuard(settings.base_url)
        self._sleep = sleep
        # The key, and its Basic form as a server might echo it back from the Authorization header:
        # two secrets per connection, whatever the number of businesses, handed to ``on_secret``
        # (Airflow's masker) once. Tokens are not: see :meth:`_redacted`.
        basic = base64.b64encode(f"{settings.partner_id}:{settings.api_key}".encode()).decode()
        self._secrets = frozenset(secret for secret in (settings.api_key, basic) if secret)
        for secret in sorted(self._secrets):
            (on_secret or (lambda _secret: None))(secret)
        self.tokens = TokenCache(self._fetch_token, max_margin=settings.token_refresh_margin, clock=clock)
        self._partner_body = "form"
        self._retrying = self._retry_policy()

    # ------------------------------------------------------------------ secrets

    @property
    def secrets(self) -> frozenset[str]:
        """The key and its Basic form: the secrets every error is scrubbed of."""
        return self._secrets

    def _redacted(self, error: ThredfiError, *sent: str) -> ThredfiError:
        """The error scrubbed of the key, its Basic form and the tokens this exchange sent.

        Tokens are never handed to Airflow's masker: it rebuilds one regular expression over
        every secret it holds on each addition, so a token per business made a task over N
        businesses (and a triggerer that renews tokens for weeks) cost N squared. Instead a
        token cannot reach a log: the client never formats one (it exists only in the token
        cache and one ``Authorization`` header), a token that could not travel in a header is
        refused unread (:func:`_checked_token`), and the only text a server controls, its error
        answer, passes through here, scrubbed of exactly the tokens it could have seen.
        """
        return error.redact(self._secrets | frozenset(sent))

    # ------------------------------------------------------------------ tokens

    def _fetch_token(self, key: str) -> TokenGrant:
        body = self._partner_token_request() if key == PARTNER_KEY else self._business_token_request(key)
        token = _checked_token(body.get("access_token"))
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
            response = self.transport.send("POST", self.urls.url(path), auth=auth, **kwargs)
            self.stats.token_requested()
            if response.ok:
                self._partner_body = style
                return dict(read_json(response))
            last = self._redacted(error_from_response(response, path=path))
            if response.status_code not in (400, 415, 422):
                break
        assert last is not None
        raise last

    def _business_token_request(self, business_id: str) -> dict[str, Any]:
        path = f"{API_PREFIX}/{segment(business_id, 'business_id')}/oauth2/token/"
        for attempt in range(2):
            partner_token = self.tokens.get(PARTNER_KEY)
            response = self.transport.send("POST", self.urls.url(path), headers=_bearer(partner_token))
            self.stats.token_requested()
            if response.status_code == 401 and attempt == 0:
                self.tokens.invalidate(PARTNER_KEY, partner_token)
                self.stats.reauthenticated()
                continue
            if not response.ok:
                raise self._redacted(error_from_response(response, path=path), partner_token)
            return dict(read_json(response))
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ requests

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

        def before_sleep(retry_state: RetryCallState) -> None:
            self.stats.retried()
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
        self, method: str, path: str, **options: Unpack[CallOptions]
    ) -> tuple[requests.Response, bool]:
        """Send one API call with the right token, retrying transient faults; raise typed errors.

        Returns the response and whether an earlier attempt of this call may have reached
        Thredfi: a create whose first attempt lost its connection after Thredfi saved the record
        finds it on the retry (200), and was made by this call, not found.

        ``business_id`` selects the business-scoped token; without it the partner token is used.
        Retrying a POST is safe because every create carries an ``external_id`` or an
        ``Idempotency-Key`` (see the operators); the 200 "already exists" reply is success.
        """
        business_id, json, params = options.get("business_id"), options.get("json"), options.get("params")
        url = self.urls.url(path)
        key = segment(business_id, "business_id") if business_id else PARTNER_KEY
        request_path = urlsplit(url).path
        maybe_applied = False
        extra = dict(options.get("headers") or {})

        def exchange() -> requests.Response:
            sent = [self.tokens.get(key)]
            response = self.transport.send(
                method, url, json=json, params=params, headers={**extra, **_bearer(sent[0])}
            )
            if response.status_code == 401:
                # Expired or revoked: mint a fresh token once, then trust the answer.
                self.tokens.invalidate(key, sent[0])
                self.stats.reauthenticated()
                sent.append(self.tokens.get(key))
                response = self.transport.send(
                    method, url, json=json, params=params, headers={**extra, **_bearer(sent[-1])}
                )
            if not response.ok:
                raise self._redacted(error_from_response(response, path=request_path), *sent)
            return response

        def attempt() -> requests.Response:
            nonlocal maybe_applied
            try:
                return exchange()
            except ThredfiConnectionError:
                maybe_applied = True
                raise

        with deadline.deadline(self.settings.max_retry_seconds):
            try:
                try:
                    # Most calls succeed first time: try once before paying for tenacity's
                    # bookkeeping, and hand a transient failure to the policy as its attempt 1.
                    response = attempt()
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
        # The attempt that answered did not raise, so this says whether an earlier one dropped.
        return response, maybe_applied


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


def _checked_token(token: object) -> str:
    """The minted token, if it can travel in a header: ``requests`` would quote a bad one in its
    exception, and so carry it into a task log."""
    if not isinstance(token, str) or not token:
        raise ThredfiError("token response has no access_token", path=API_PREFIX + "/oauth2/token/")
    if not _TOKEN_CHARACTERS.fullmatch(token):
        raise ThredfiError(
            "token response's access_token has characters a bearer token cannot carry (whitespace or "
            "control characters); refused without sending it",
            path=API_PREFIX + "/oauth2/token/",
        )
    return token


_TOKEN_CHARACTERS = re.compile(r"[!-~]+")  # visible ASCII: what an HTTP header value may carry unquoted


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
