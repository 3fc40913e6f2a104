"""A small misbehaving Thredfi on 127.0.0.1, for the faults our friendly sandbox never makes.

It mints tokens like Thredfi (so the real client authenticates as it would) and then, by the
first path segment under ``/v1/platform/``, misbehaves:

- ``stall/``: accepts the request and never answers (until the server stops);
- ``drip/``: answers 200 and sends the body one byte a second;
- ``drip-headers/``: sends the status line and headers one byte a second;
- ``loop-next/``: a list page whose ``next`` link points back at itself;
- ``loop-page/``: a list page whose ``page_info.current_page`` never advances;
- ``endless/``: a list that claims 500 records but a million pages, each page new;
- ``echo/``: 400 with the request's headers (``Authorization`` included) echoed in the body;
- ``echo-token/``: every request under it, token requests included, answers 401 with its
  headers echoed and its (Basic) ``Authorization`` quoted in the message; use it as the base
  URL's path;
- ``bad-token/``: tokens minted under it carry a CR LF (use it as the base URL's path);
- ``retry-after/<value>/``: 429 with ``Retry-After: <value>`` (``day`` = an HTTP date a day ahead);
- ``drf/``: 400 with DRF's plain validation body, nested like the request;
- ``unavailable/``: 503 with no ``Retry-After``;
- ``growing-pages/``: the same list, grown by ``GROWTH`` records once page 1 was read (a sync
  creating while a pass reads);
- ``slow-pages/``: a list of ``SLOW_PAGES_COUNT`` records whose every page takes 0.1 s; it
  records how many requests it held at once (``max_in_flight``), to prove a pass is concurrent
  and bounded;
- anything else: 200 ``{"ok": true}``.

Every request is recorded (method, path, Authorization header) so a test can prove what was,
and was not, sent. Every wait here is bounded by the server's stop event.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PARTNER_ID = "7d1c7a52-3f0e-4c36-9d93-2f6a1b0c9e11"
SLOW_PAGES_COUNT = 950
GROWTH = 60


@dataclass
class Seen:
    method: str
    path: str
    authorization: str | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class HostileServer:
    api_key: str = field(default_factory=lambda: "sk_" + secrets.token_urlsafe(24))
    partner_id: str = PARTNER_ID
    seen: list[Seen] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def __post_init__(self) -> None:
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1})

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def hits(self, scenario: str) -> list[Seen]:
        return [s for s in self.seen if s.path.startswith(f"/v1/platform/{scenario}/")]


def _handler(server: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self._route()

        def do_POST(self) -> None:
            self._route()

        def do_PATCH(self) -> None:
            self._route()

        def _route(self) -> None:
            self._body()
            path = self.path.split("?", 1)[0]
            server.seen.append(
                Seen(self.command, self.path, self.headers.get("Authorization"), dict(self.headers.items()))
            )
            if path.startswith("/v1/platform/echo-token/"):
                said = f"who are you? Request had Authorization: {self.headers.get('Authorization')}"
                self._send(401, {"error": said, "echo": dict(self.headers.items())})
                return
            if path.endswith("/oauth2/token/"):
                token = "tok_" + secrets.token_urlsafe(16)
                if path.startswith("/v1/platform/bad-token/"):
                    token += "\r\nX-Smuggled: 1"  # no header can carry it; requests would quote it
                server.tokens.append(token)
                self._send(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})
                return
            parts = path.removeprefix("/v1/platform/").split("/")
            scenario = parts[0]
            if scenario == "stall":
                server.stopping.wait(120)
            elif scenario == "drip":
                self._drip(b'{"ok": true, "padding": "' + b"x" * 200 + b'"}', headers_first=True)
            elif scenario == "drip-headers":
                self._drip(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 300 + b"\r\n\r\n", headers_first=False)
            elif scenario == "loop-next":
                self._send(200, {"count": 500, "next": self.path, "results": [{"id": "x"}]})
            elif scenario == "loop-page":
                page_info = {"total_count": 500, "current_page": 1, "total_pages": 5, "page_size": 100}
                self._send(200, {"count": 500, "page_info": page_info, "results": [{"id": "x"}] * 100})
            elif scenario == "endless":
                page = int(
                    dict(p.split("=", 1) for p in self.path.split("?", 1)[-1].split("&")).get("page", 1)
                )
                page_info = {"total_count": 500, "current_page": page, "total_pages": 10**6, "page_size": 100}
                self._send(200, {"count": 500, "page_info": page_info, "results": [{"id": "x"}] * 100})
            elif scenario == "echo":
                self._send(400, {"error": "bad request", "echo": dict(self.headers.items())})
            elif scenario == "retry-after":
                value = parts[1]
                if value == "day":
                    value = format_datetime(_utc_in(86400), usegmt=True)
                self._send(429, {"error": "slow down"}, {"Retry-After": value})
            elif scenario == "drf":
                self._send(400, {"line_items": [{}, {"unit_price": ["A valid integer is required."]}],
                                 "customer_id": ["This field is required."]})  # fmt: skip
            elif scenario == "unavailable":
                self._send(503, {"error": "unavailable"})
            elif scenario in ("slow-pages", "growing-pages"):
                self._slow_page(grows=scenario == "growing-pages")
            else:
                self._send(200, {"ok": True})

        def _slow_page(self, *, grows: bool = False) -> None:
            query = dict(p.split("=", 1) for p in self.path.split("?", 1)[-1].split("&") if "=" in p)
            page, size = int(query.get("page", 1)), int(query.get("page_size", 20))
            total = SLOW_PAGES_COUNT + (GROWTH if grows and page > 1 else 0)
            with server.lock:
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            server.stopping.wait(0.1)
            with server.lock:
                server.in_flight -= 1
            numbers = range((page - 1) * size, min(page * size, total))
            self._send(
                200,
                {
                    "count": total,
                    "results": [{"id": f"r{n}", "external_id": f"e{n}"} for n in numbers],
                },
            )

        def _drip(self, payload: bytes, *, headers_first: bool) -> None:
            if headers_first:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.flush()
            for byte in payload:
                if server.stopping.wait(1.0):
                    return
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    return  # the client gave up: what we want

    return Handler


def _utc_in(seconds: float) -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
