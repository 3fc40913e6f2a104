"""A sync's peak memory and XCom size against its record count: flat, not O(N).

Each size runs in a fresh worker process against a fresh sandbox process: the source is a
generator of N invoices spread over 20 businesses, synced by ``ThredfiSyncInvoicesOperator``
with the default ``chunk_size``. Reported per size:

- the worker's RSS once Airflow and the provider are imported and one small sync has run
  (the floor every task pays), and its peak RSS (``VmHWM``) during the sync;
- the returned XCom's size in bytes, and whether it names a details report;
- with ``--rerun``, the peak of a second sync of the same records (all unchanged), which also
  holds each business's index of what Thredfi has.

The figure that matters is the ratio of the largest size's peak to 10,000's (target < 1.5).
``--code DIR`` runs the worker on another checkout (for a before/after comparison).

    python benchmarks/bench_streaming_memory.py [--sizes 10000,50000,200000] [--rerun] [--code DIR]

Not in ``make bench``: 200,000 creates take about 7 minutes against the sandbox.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from harness import API_KEY, client_for, key_figures, onboard, run_operator, sandbox, table, use_connection

HERE = Path(__file__).resolve().parent
BUSINESSES = 20


def rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)


def source(business_ids: list[str], n: int):
    """N invoices, round-robin over the businesses, built one at a time."""

    def records():
        for i in range(n):
            yield {
                "external_id": f"inv-{i}", "business_id": business_ids[i % len(business_ids)],
                "customer_external_id": "cust-0", "invoice_number": f"INV-{i}",
                "sent_at": "2024-03-01", "due_at": "2024-03-31",
                "line_items": [{"description": "Work", "quantity": 1, "unit_price_cents": 1000 + i % 997,
                                "account_code": "4000"}],
            }  # fmt: skip

    return records


def child(n: int, rerun: bool) -> None:
    import harness

    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

    base_url = os.environ["BENCH_SANDBOX_URL"]
    os.environ["AIRFLOW_CONN_THREDFI_DEFAULT"] = os.environ["BENCH_CONN"]
    harness.API_KEY = os.environ["BENCH_API_KEY"]  # the sandbox was started with the parent's key

    class Box:
        pass

    box = Box()
    box.base_url = base_url  # type: ignore[attr-defined]
    setup = client_for(box)  # type: ignore[arg-type]
    businesses = [onboard(setup, f"biz-{b}") for b in range(BUSINESSES)]
    warm = ThredfiSyncInvoicesOperator(task_id="warm", records=source(businesses[:1], 5)())
    run_operator(warm)
    floor = rss_mb()
    reset_peak()
    started = time.perf_counter()
    summary = run_operator(ThredfiSyncInvoicesOperator(task_id="sync", records=source(businesses, n)))
    seconds = time.perf_counter() - started
    peak = rss_mb("VmHWM")
    result = {"n": n, "floor_mb": floor, "peak_mb": peak, "seconds": seconds,
              "xcom_bytes": len(json.dumps(summary).encode()), "details": bool(summary.get("details")),
              "created": summary["created"] + summary["unchanged"], "failed": summary.get("failed_count")}  # fmt: skip
    if rerun:
        reset_peak()
        again = run_operator(ThredfiSyncInvoicesOperator(task_id="sync", records=source(businesses, n)))
        result["rerun_peak_mb"] = rss_mb("VmHWM")
        result["rerun_unchanged"] = again["unchanged"]
    print("RESULT " + json.dumps(result), flush=True)


def measure(n: int, rerun: bool, code: str | None) -> dict:
    with sandbox() as box:
        use_connection(box)
        env = {**os.environ, "BENCH_SANDBOX_URL": box.base_url, "BENCH_CONN": box.connection_uri,
               "BENCH_API_KEY": API_KEY}  # fmt: skip
        if code:
            env["PYTHONPATH"] = code
        args = [sys.executable, str(Path(__file__)), "--child", str(n)] + (["--rerun"] if rerun else [])
        out = subprocess.run(args, env=env, cwd=HERE, capture_output=True, text=True, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if out.returncode or not lines:
        raise SystemExit(
            f"worker for n={n} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
        )
    result: dict = json.loads(lines[-1].removeprefix("RESULT "))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,50000,200000")
    parser.add_argument("--rerun", action="store_true")
    parser.add_argument("--code", default=None)
    parser.add_argument("--child", type=int, default=None)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.rerun)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    results = [measure(n, args.rerun, args.code) for n in sizes]
    for r in results:
        assert r["created"] == r["n"], r
        assert not r["failed"], r
    base = results[0]
    rows = [
        [f"{r['n']:,}", r["floor_mb"], r["peak_mb"], r["peak_mb"] / base["peak_mb"],
         r.get("rerun_peak_mb", "-"), r["xcom_bytes"], r["details"], r["n"] / r["seconds"]]
        for r in results
    ]  # fmt: skip
    table(
        f"Peak worker RSS (MB) syncing N invoices over {BUSINESSES} businesses"
        + (f" ({args.code})" if args.code else ""),
        ["N", "floor", "peak", "peak vs first", "rerun peak", "XCom bytes", "details file", "invoices/s"],
        rows,
    )
    largest = results[-1]
    ratio = largest["peak_mb"] / base["peak_mb"]
    key_figures(
        "streaming_memory", sizes=",".join(str(n) for n in sizes), peak_first_mb=base["peak_mb"],
        peak_largest_mb=largest["peak_mb"], peak_ratio=ratio, flat=ratio < 1.5,
        max_xcom_bytes=max(r["xcom_bytes"] for r in results),
        xcom_within_64kb=max(r["xcom_bytes"] for r in results) <= 64 * 1024,
    )  # fmt: skip


if __name__ == "__main__":
    main()
