"""The environment a session trusts, read once when the session is built instead of per request.

With ``trust_env`` on (its default), ``requests`` reads the environment again for every request:
``get_environ_proxies`` scans ``os.environ`` for ``*_PROXY`` variables and matches the host
against ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` are looked up, and ``~/.netrc``
is searched for the host. That is a few hundred microseconds of CPU a request (see
``benchmarks/bench_client_cpu.py``), always with the same answer for a client that talks to
one origin: the Thredfi client refuses absolute URLs to any other origin, and whether a proxy
applies depends only on the scheme, host and port.
"""

from __future__ import annotations

import requests


def settle_environment(session: requests.Session, base_url: str, verify: bool | str) -> None:
    """Resolve what ``trust_env`` would give every request to ``base_url``, then stop looking.

    The proxies (``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``, or none when ``NO_PROXY``
    covers the host) and the CA bundle are computed by ``requests`` itself, through
    :meth:`requests.Session.merge_environment_settings`, exactly as for a request to
    ``base_url`` with ``verify`` passed explicitly: so ``REQUESTS_CA_BUNDLE`` (or
    ``CURL_CA_BUNDLE``) is used only when ``verify`` is ``True``; a connection that turned
    verification off or named its own bundle keeps its choice. Then ``trust_env`` is turned off.

    ``~/.netrc`` is deliberately not read: every Thredfi request carries its own credentials
    (Basic for the partner token, a bearer token after), and with ``trust_env`` on a netrc
    entry for the host would replace the bearer ``Authorization`` header of every API call.
    With it off, the explicit header always wins.

    The environment is read once, here: a process must be restarted to pick up changed proxy
    or CA-bundle variables (Airflow runs each task in a fresh process, and the triggerer reads
    its environment at start like any daemon). A redirect to another origin, which the client
    never asks for, would go through the proxy chosen for ``base_url``.
    """
    if not session.trust_env:
        return
    resolved = session.merge_environment_settings(base_url, {}, None, verify, None)
    session.proxies = dict(resolved["proxies"] or {})
    session.verify = resolved["verify"]
    session.trust_env = False
