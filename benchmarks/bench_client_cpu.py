"""Client CPU per request: ThredfiClient against a bare ``requests.Session``, side by side.

The server is a canned-response HTTP/1.1 keep-alive server in its own process (raw asyncio, a
fixed JSON body and a fixed token reply), so it costs next to nothing and is never the
bottleneck; what is measured is the benchmark process's own CPU time (``time.process_time``,
every thread of the process) per request, single-threaded:

- the raw floor: a default ``requests.Session()`` doing GETs with a bearer header; with
  ``trust_env`` on (its default) it rescans the environment for proxies, NO_PROXY, CA bundles
  and netrc on every request;
- ``ThredfiClient.request_json("GET", ...)``: token cache, retry policy, deadline, error
  mapping and JSON parsing included, its environment read once when its session was built;
- the same client with its session's ``trust_env`` turned back on (the code before issue 16);
- for reference, the bare session with ``trust_env`` off.

The four are interleaved over several rounds and each figure is the median round, so a noisy
neighbour hurts them all alike; each ratio is the median of the rounds' own ratios (the two
variants measured seconds apart). Target: the client at most 0.75x the raw floor.

    python benchmarks/bench_client_cpu.py [--requests 300] [--rounds 9]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import requests
from harness import free_port, key_figures, table

TARGET = 0.75
TOKEN = json.dumps({"access_token": "bench-token-" + "x" * 40, "token_type": "Bearer", "expires_in": 3600})
RECORD = json.dumps(
    {"id": "9d5c1e2a-0000-4000-8000-000000000001", "external_id": "biz-1", "legal_name": "Bench Ltd",
     "status": "active", "country": "GB", "base_currency": "GBP", "created_at": "2024-03-01T00:00:00Z"}
)  # fmt: skip


def _reply(body: str) -> bytes:
    data = body.encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    return head.encode() + data


async def _serve(port: int) -> None:
    token, record = _reply(TOKEN), _reply(RECORD)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                writer.write(token if b"/oauth2/token/" in head.split(b"\r\n", 1)[0] else record)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


def cpu_per_request(fn: Callable[[], object], n: int) -> float:
    """Process CPU microseconds per call of ``fn``, over ``n`` calls."""
    start = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300, help="requests per variant per round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve))
        return

    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.client.settings import ClientSettings

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    if "listening" not in server.stdout.readline():
        server.kill()
        raise SystemExit("canned server did not start")
    base = f"http://127.0.0.1:{port}"
    path = "businesses/9d5c1e2a-0000-4000-8000-000000000001/"
    url = f"{base}/v1/platform/{path}"
    try:
        raw = requests.Session()
        raw.headers["Authorization"] = "Bearer " + json.loads(TOKEN)["access_token"]
        raw_no_env = requests.Session()
        raw_no_env.headers.update(raw.headers)
        raw_no_env.trust_env = False
        settings = ClientSettings(base, "7b0c9f3e-bench-4d2a-9e61-000000000001", "bench-key")
        client = ThredfiClient(settings)
        rescanning = ThredfiClient(settings)
        rescanning.transport.session.trust_env = True  # as before issue 16: the environment read per request
        variants: dict[str, Callable[[], object]] = {
            "raw": lambda: raw.get(url, timeout=30).json(),
            "client": lambda: client.request_json("GET", path),
            "client_trust_env": lambda: rescanning.request_json("GET", path),
            "raw_no_env": lambda: raw_no_env.get(url, timeout=30).json(),
        }
        for fn in variants.values():  # connections, tokens, caches
            cpu_per_request(fn, 50)
        rounds: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, fn in variants.items():
                rounds[name].append(cpu_per_request(fn, args.requests))
        assert client.stats.token_requests == 1
        assert rescanning.stats.token_requests == 1
    finally:
        server.terminate()
        server.wait(timeout=10)

    us = {name: statistics.median(values) for name, values in rounds.items()}
    vs_raw = {
        name: statistics.median(v / raw for v, raw in zip(values, rounds["raw"], strict=True))
        for name, values in rounds.items()
    }
    labels = {
        "raw": "requests.Session() GET + bearer (raw floor, trust_env on)",
        "client": "ThredfiClient.request_json GET (environment read once)",
        "client_trust_env": "ThredfiClient.request_json GET, session trust_env=True (before)",
        "raw_no_env": "requests.Session() GET + bearer, trust_env off (reference)",
    }
    table(
        f"Client CPU per request, {args.requests} GETs x {args.rounds} rounds per variant, "
        f"single-threaded ({len(os.environ)} environment variables)",
        ["variant", "CPU us/request (median round)", "min", "max", "x raw floor (median of rounds)"],
        [[labels[name], us[name], min(rounds[name]), max(rounds[name]), vs_raw[name]] for name in rounds],
    )
    ratio = vs_raw["client"]
    print(
        f"\nTarget: client <= {TARGET}x the raw floor: {'met' if ratio <= TARGET else 'NOT MET'} ({ratio:.3f}x)"
    )
    key_figures(
        "client_cpu",
        raw_us=us["raw"],
        client_us=us["client"],
        client_trust_env_us=us["client_trust_env"],
        raw_no_env_us=us["raw_no_env"],
        client_vs_raw=ratio,
        client_trust_env_vs_raw=vs_raw["client_trust_env"],
        raw_no_env_vs_raw=vs_raw["raw_no_env"],
        env_vars=len(os.environ),
        target=f"<={TARGET}x",
        target_met=ratio <= TARGET,
    )


if __name__ == "__main__":
    main()
