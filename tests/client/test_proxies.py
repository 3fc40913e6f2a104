"""The environment the client honours once its session reads it once: proxies, NO_PROXY, CA bundles, netrc.

The client resolves ``trust_env`` for its one origin when the session is built, then turns it
off (see ``thredfi_provider.client.session``). These tests pin that nothing a user sets in the
environment is lost by that: a forward proxy on 127.0.0.1 records what passes through it and
forwards it to the sandbox.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from tests.helpers import make_client, onboard
from thredfi_provider.client.client import ThredfiClient
from thredfi_provider.client.errors import ThredfiConnectionError
from thredfi_provider.client.settings import ClientSettings

PROXY_VARIABLES = (
    "http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
    "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NETRC", "REQUEST_METHOD",
)  # fmt: skip
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "transfer-encoding"}


@dataclass
class Proxy:
    url: str
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, target, Authorization


class _ForwardingHandler(BaseHTTPRequestHandler):
    """A forward proxy for absolute-form ``GET http://host/...`` requests; ``CONNECT`` is refused."""

    protocol_version = "HTTP/1.1"
    proxy: Proxy

    def log_message(self, format: str, *args: object) -> None:
        return None

    def _forward(self) -> None:
        self.proxy.seen.append((self.command, self.path, self.headers.get("Authorization")))
        target = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=10)
        try:
            path = target.path + (f"?{target.query}" if target.query else "")
            upstream.request(self.command, path, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        finally:
            upstream.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    def do_CONNECT(self) -> None:
        self.proxy.seen.append(("CONNECT", self.path, None))
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy, NO_PROXY, CA-bundle or netrc variable from the machine running the tests."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ForwardingHandler)
    server.daemon_threads = True
    record = Proxy(f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = type("Handler", (_ForwardingHandler,), {"proxy": record})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield record
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_proxy_from_the_environment_carries_every_request(thredfi_sandbox, clean_env, proxy, variable):
    clean_env.setenv(variable, proxy.url)
    client = make_client(thredfi_sandbox)
    business_id = onboard(client)
    customers = list(client.list_records(business_id, "customers"))
    assert customers == []
    origin = thredfi_sandbox.base_url
    assert all(target.startswith(origin + "/v1/platform/") for _, target, _ in proxy.seen), proxy.seen
    paths = [urlsplit(target).path for _, target, _ in proxy.seen]
    assert "/v1/platform/oauth2/token/" in paths
    assert f"/v1/platform/{business_id}/oauth2/token/" in paths
    assert f"/v1/platform/businesses/{business_id}/customers/" in paths
    assert len(proxy.seen) == client.stats.requests


def test_https_proxy_from_the_environment_is_used_for_an_https_base_url(clean_env, proxy):
    clean_env.setenv("HTTPS_PROXY", proxy.url)
    settings = ClientSettings("https://thredfi.invalid", "partner", "key", max_retries=0, timeout=5)
    with ThredfiClient(settings) as client, pytest.raises(ThredfiConnectionError):
        client.list_businesses().__next__()
    assert proxy.seen == [("CONNECT", "thredfi.invalid:443", None)]


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.1", "*"])
def test_no_proxy_covering_the_host_bypasses_the_proxy(thredfi_sandbox, clean_env, proxy, no_proxy):
    clean_env.setenv("HTTP_PROXY", proxy.url)
    clean_env.setenv("NO_PROXY", no_proxy)
    client = make_client(thredfi_sandbox)
    onboard(client)
    assert proxy.seen == []
    assert client.stats.requests >= 2


def test_no_proxy_for_another_host_keeps_the_proxy(thredfi_sandbox, clean_env, proxy):
    clean_env.setenv("HTTP_PROXY", proxy.url)
    clean_env.setenv("no_proxy", "thredfi.example,10.0.0.0/8")
    onboard(make_client(thredfi_sandbox))
    assert len(proxy.seen) >= 2


def test_the_environment_is_read_once_when_the_client_is_built(thredfi_sandbox, clean_env, proxy):
    """Documented: a changed proxy variable needs a new process (or a new client)."""
    client = make_client(thredfi_sandbox)
    clean_env.setenv("HTTP_PROXY", proxy.url)
    onboard(client)
    assert proxy.seen == []
    onboard(make_client(thredfi_sandbox), "biz-2")
    assert proxy.seen


def _session_verify(**options: object) -> object:
    client = ThredfiClient(ClientSettings("https://thredfi.invalid", "partner", "key", **options))  # type: ignore[arg-type]
    assert client.transport.session.trust_env is False
    return client.transport.session.verify


def test_a_ca_bundle_from_the_environment_is_honoured_when_verify_is_on(clean_env, tmp_path):
    bundle = tmp_path / "corporate-ca.pem"
    clean_env.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    assert _session_verify() == str(bundle)
    # An explicit connection setting wins over the environment.
    assert _session_verify(verify=False) is False
    assert _session_verify(verify="/etc/thredfi/ca.pem") == "/etc/thredfi/ca.pem"


def test_curl_ca_bundle_is_the_fallback(clean_env):
    clean_env.setenv("CURL_CA_BUNDLE", "/curl/ca.pem")
    assert _session_verify() == "/curl/ca.pem"
    clean_env.setenv("REQUESTS_CA_BUNDLE", "/requests/ca.pem")
    assert _session_verify() == "/requests/ca.pem"


def test_without_a_ca_bundle_variable_verify_stays_on(clean_env):
    assert _session_verify() is True


def test_a_netrc_entry_for_the_host_does_not_replace_the_bearer_token(
    thredfi_sandbox, clean_env, proxy, tmp_path
):
    """With ``trust_env`` on, requests would put the netrc entry's Basic auth over the bearer header."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password something\n")
    netrc.chmod(0o600)
    clean_env.setenv("NETRC", str(netrc))
    clean_env.setenv("HTTP_PROXY", proxy.url)
    client = make_client(thredfi_sandbox)
    business_id = onboard(client)
    list(client.list_records(business_id, "customers"))
    api_calls = [auth for _, target, auth in proxy.seen if "/oauth2/token/" not in target]
    assert api_calls
    assert all(auth and auth.startswith("Bearer ") for auth in api_calls), api_calls
