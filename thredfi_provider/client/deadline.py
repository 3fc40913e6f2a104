"""A total deadline for each HTTP attempt, which ``requests`` does not have.

``requests``' ``timeout`` bounds each socket operation, so a server that drips one byte a
second keeps a call alive for ever. Here every socket of the session is wrapped so that each
``recv``/``send`` gets at most what is left of the current thread's deadline; once it has
passed the next socket operation times out, and urllib3 turns that into a ``ReadTimeout``
(or ``ConnectTimeout``). The deadline is per thread because a pooled connection is used by
one thread at a time, and the thread that sends the request is the one that reads it.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Generator
from contextlib import contextmanager
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_state = threading.local()


def remaining() -> float | None:
    """Seconds left before this thread's deadline, or ``None`` when there is none."""
    deadline: float | None = getattr(_state, "deadline", None)
    return None if deadline is None else deadline - time.monotonic()


@contextmanager
def deadline(seconds: float) -> Generator[None]:
    """Bound every socket operation inside the block to ``seconds`` from now, all together.

    Nested blocks keep the earlier deadline: a token request made inside a call cannot
    outlive the call.
    """
    outer: float | None = getattr(_state, "deadline", None)
    mine = time.monotonic() + max(0.0, seconds)
    _state.deadline = mine if outer is None else min(outer, mine)
    try:
        yield
    finally:
        _state.deadline = outer


class _DeadlineSocket:
    """A socket whose blocking operations never wait past the thread's deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._timeout = sock.gettimeout()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def settimeout(self, value: float | None) -> None:
        self._timeout = value
        self._sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._timeout

    def _arm(self) -> None:
        left = remaining()
        if left is None:
            self._sock.settimeout(self._timeout)
            return
        if left <= 0:
            raise TimeoutError("the attempt's total deadline has passed")
        self._sock.settimeout(left if self._timeout is None else min(self._timeout, left))

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._arm()
        return self._sock.recv_into(buffer, nbytes, flags)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._arm()
        return self._sock.recv(bufsize, flags)

    def send(self, data: Any, flags: int = 0) -> int:
        self._arm()
        return self._sock.send(data, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self._arm()
        self._sock.sendall(data, flags)

    def makefile(self, mode: str = "r", buffering: int | None = None, **_: Any) -> Any:
        # http.client reads the response through makefile("rb"); route it through recv_into.
        if "b" not in mode or "w" in mode:
            return self._sock.makefile(mode, buffering)  # type: ignore[call-overload]
        raw = socket.SocketIO(self, "rb")  # type: ignore[arg-type]
        self._sock._io_refs += 1  # type: ignore[attr-defined]  # as socket.makefile does
        return io.BufferedReader(raw, buffering if buffering and buffering > 0 else io.DEFAULT_BUFFER_SIZE)


class _DeadlineHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = _DeadlineSocket(self.sock)


class _DeadlineHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = _DeadlineSocket(self.sock)


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections honour :func:`deadline`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}
