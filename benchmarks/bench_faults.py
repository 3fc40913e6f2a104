"""Throughput under faults: 10% injected 503s and 5% 429s (Retry-After), and the duplicates (must be 0).

The same N invoices go through ThredfiSyncInvoicesOperator against a clean sandbox and against
one injecting faults, in the same run. If faults outlast the client's own retries the operator
raises a retryable error, and this script retries the task the way Airflow would (``retries=3``),
so the figure is what a DAG run sees. Afterwards every invoice in Thredfi is counted: duplicates
and missing ones must both be 0.

    python benchmarks/bench_faults.py [--n 1000] [--seed 7]
"""

from __future__ import annotations

import argparse
from collections import Counter

from harness import (
    client_for,
    invoices,
    key_figures,
    onboard,
    run_operator,
    sandbox,
    table,
    timed,
    use_connection,
)

TASK_RETRIES = 3


def sync_with_task_retries(business_id: str, records: list[dict]) -> tuple[dict, int]:
    from thredfi_provider.hooks.task_state import ThredfiBatchError
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

    for attempt in range(1, TASK_RETRIES + 2):
        operator = ThredfiSyncInvoicesOperator(task_id="sync", business_id=business_id, records=records)
        try:
            return run_operator(operator), attempt
        except ThredfiBatchError:
            if attempt > TASK_RETRIES:
                raise
    raise AssertionError("unreachable")


def run(n: int, *flags: str) -> dict[str, float]:
    from thredfi_provider.hooks import thredfi as hook_module

    hook_module.clear_shared_clients()
    with sandbox(*flags) as box:
        use_connection(box)
        setup = client_for(box)
        business_id = onboard(setup, "faults")
        records = invoices("inv", n)
        (summary, attempts), seconds = timed(sync_with_task_retries, business_id, records)
        stats = box.stats()
        in_thredfi = Counter(r["external_id"] for r in setup.list_records(business_id, "invoices"))
    counters = stats["counters"]
    expected = {r["external_id"] for r in records}
    return {
        "seconds": seconds,
        "rate": n / seconds,
        "attempts": attempts,
        "duplicates": sum(c - 1 for c in in_thredfi.values() if c > 1),
        "missing": len(expected - set(in_thredfi)),
        "faults_503": int(counters.get("fault_error", 0)),
        "faults_429": int(counters.get("fault_rate_limit", 0)),
        "requests": int(counters.get("requests", 0)),
        "summary_ok": int(summary["created"] + summary["unchanged"] == n and not summary["failed"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    clean = run(args.n)
    faulty = run(args.n, "--error-rate", "0.10", "--error-status", "503", "--rate-limit-rate", "0.05",
                 "--retry-after", "1", "--seed", str(args.seed))  # fmt: skip
    table(
        f"Invoice sync of {args.n} under faults (same run)",
        ["sandbox", "seconds", "invoices/s", "task attempts", "503s", "429s", "requests", "duplicates", "missing"],
        [[label, r["seconds"], r["rate"], r["attempts"], r["faults_503"], r["faults_429"], r["requests"],
          r["duplicates"], r["missing"]] for label, r in (("clean", clean), ("10% 503 + 5% 429", faulty))],
    )  # fmt: skip
    key_figures(
        "faults",
        n=args.n,
        clean_per_s=clean["rate"],
        faulty_per_s=faulty["rate"],
        retained=faulty["rate"] / clean["rate"],
        duplicates=faulty["duplicates"],
        missing=faulty["missing"],
    )
    if faulty["duplicates"] or faulty["missing"] or clean["duplicates"] or clean["missing"]:
        raise SystemExit("duplicates or missing invoices under faults")


if __name__ == "__main__":
    main()
