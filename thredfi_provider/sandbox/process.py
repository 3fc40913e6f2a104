"""The sandbox in a process of its own, for drivers that must not share its GIL or its lifetime.

Benchmarks run it beside the code they measure (one core each on a 2-core machine), and
``make test-system`` runs the example DAGs against it in strict mode. Started on a free loopback
port, stopped on exit.
"""

from __future__ import annotations

import socket
import subprocess  # noqa: S404 - it runs this package's own module, with arguments it builds
import sys
from collections.abc import Generator
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def sandbox_process(
    partner_id: str, api_key: str, *flags: str
) -> Generator[tuple[str, subprocess.Popen[str]]]:
    """``python -m thredfi_provider.sandbox`` with ``flags``: yields its base URL and the process."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "thredfi_provider.sandbox", "--port", str(port),
         "--partner-id", partner_id, "--api-key", api_key, *flags],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening" not in line:
        process.kill()
        raise RuntimeError(f"sandbox did not start: {line}{process.stdout.read()}")
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(timeout=10)
