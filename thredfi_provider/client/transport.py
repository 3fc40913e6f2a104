"""The HTTP client: one pooled session, and one bounded exchange at a time.

It knows nothing of tokens, retries or resources (that is :mod:`.requestor` and
:class:`~thredfi_provider.client.client.ThredfiClient`); it sends what it is given within the
attempt's deadline and turns a dropped connection into
:class:`~thredfi_provider.client.errors.ThredfiConnectionError`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from thredfi_provider.client import deadline
from thredfi_provider.client.errors import ThredfiConnectionError, ThredfiError
from thredfi_provider.client.session import settle_environment
from thredfi_provider.client.settings import ClientSettings
from thredfi_provider.client.stats import ClientStats
from thredfi_provider.version import __version__

log = logging.getLogger(__name__)

USER_AGENT = f"airflow-provider-thredfi/{__version__} python-requests/{requests.__version__}"


def make_session(settings: ClientSettings) -> requests.Session:
    """One pooled session for the client's one origin, its environment read once.

    Proxies and the CA bundle from the environment are resolved here for ``base_url`` and
    ``trust_env`` is turned off, so requests stop rescanning the environment (and netrc)
    on every call; see :func:`~thredfi_provider.client.session.settle_environment`.
    """
    session = requests.Session()
    adapter = deadline.DeadlineAdapter(pool_connections=4, pool_maxsize=settings.pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept"] = "application/json"
    session.verify = settings.verify
    settle_environment(session, settings.base_url, settings.verify)
    return session


class Transport:
    """Sends one request and returns the response, whatever its status."""

    def __init__(self, settings: ClientSettings, session: requests.Session, stats: ClientStats) -> None:
        self.settings = settings
        self.session = session
        self.stats = stats

    def close(self) -> None:
        self.session.close()

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One HTTP exchange, bounded as a whole by ``attempt_timeout`` (and the call's deadline)."""
        self.stats.sent()
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
                    else _tls_reason(exc, url) or f"{type(exc).__name__} talking to Thredfi"
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
        session = self.session
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


# What OpenSSL says when the other end answers a TLS hello in plain text (versions differ).
_PLAIN_HTTP_SIGNS = ("wrong_version_number", "wrong version number", "record layer failure", "http_request")


def _tls_reason(exc: Exception, url: str) -> str | None:
    """A TLS failure explained, when it is one: most often an https URL for a plain-http server."""
    if not isinstance(exc, requests.exceptions.SSLError):
        return None
    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port or 443}"
    if any(sign in str(exc).lower() for sign in _PLAIN_HTTP_SIGNS):
        return (
            f"TLS handshake with {where} failed: it answered in plain HTTP, not TLS. For a local sandbox "
            f"(thredfi-sandbox) give the host as http://{where} (an environment name such as 'sandbox' "
            "means Thredfi's own https://sandbox.thredfi.com)"
        )
    if "certificate" in str(exc).lower():
        return (
            f"TLS certificate of {where} was not trusted; set the connection's extra 'verify' to the "
            "path of your CA bundle"
        )
    return f"TLS error talking to Thredfi at {where}"


def read_json(response: requests.Response) -> Any:
    """The body as JSON (``{}`` when empty); a body that is not JSON is a typed error."""
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
