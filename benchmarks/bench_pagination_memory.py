"""Pagination memory: export 10,000 and 100,000 journal lines; peak RSS must not grow with N.

Each export runs in a fresh child process that first does a small warm-up export (so every
import and the connection pool are in place), reads its peak RSS, runs the measured export,
and reads its peak RSS again: the difference is what the export itself cost. For contrast the
same child can export the naive way (collect every entry in a list, then write), which is what
memory that grows with N looks like.

    python benchmarks/bench_pagination_memory.py [--sizes 10000 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import client_for, key_figures, onboard, sandbox, table, timed, use_connection

LINES_PER_ENTRY = 4
WARMUP_ENTRIES = 25  # dated 2024-01-01, so the measured export (from 2024-01-01) includes them


def child(business_id: str, mode: str, out_dir: str) -> None:
    """Runs in the measured process: warm up, then export, reporting peak RSS before and after."""
    from harness import run_operator

    from thredfi_provider.operators.ledger import ThredfiExportLedgerOperator

    def export(path: str, date_to: str) -> int:
        if mode == "naive":
            from thredfi_provider.hooks.thredfi import ThredfiHook

            client = ThredfiHook().get_conn()
            entries = list(
                client.list_records(business_id, "journal_entry", date_from="2024-01-01", date_to=date_to)
            )
            rows = [{**line, "entry_id": e["id"]} for e in entries for line in e["lines"]]
            Path(path).write_text("\n".join(json.dumps(r) for r in rows))
            return len(rows)
        operator = ThredfiExportLedgerOperator(
            task_id="export",
            business_id=business_id,
            path=f"file://{path}",
            date_from="2024-01-01",
            date_to=date_to,
        )
        return int(run_operator(operator)["rows"])

    export(f"{out_dir}/warmup.jsonl", "2024-01-01")  # the warm-up entries are dated 2024-01-01
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows, seconds = timed(export, f"{out_dir}/export.jsonl", "2024-12-31")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": rows, "seconds": seconds, "before_kb": before, "after_kb": after}))


def measure(business_id: str, mode: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out_dir:
        done = subprocess.run(
            [sys.executable, __file__, "--child", business_id, mode, out_dir],
            capture_output=True, text=True, check=True, env=os.environ,
        )  # fmt: skip
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    rows = []
    growth: dict[int, float] = {}
    with sandbox() as box:
        use_connection(box)
        setup = client_for(box)
        for size in args.sizes:
            business_id = onboard(setup, f"ledger-{size}", customers=0)
            box.control("POST", "seed/journal-entries",
                        {"business_id": business_id, "entries": WARMUP_ENTRIES, "lines_per_entry": LINES_PER_ENTRY,
                         "entry_date": "2024-01-01"})  # fmt: skip
            box.control("POST", "seed/journal-entries",
                        {"business_id": business_id, "entries": size // LINES_PER_ENTRY,
                         "lines_per_entry": LINES_PER_ENTRY, "entry_date": "2024-03-01"})  # fmt: skip
            modes = ["streaming"] + (["naive"] if size == max(args.sizes) else [])
            for mode in modes:
                r = measure(business_id, mode)
                delta_mb = (r["after_kb"] - r["before_kb"]) / 1024
                if mode == "streaming":
                    growth[size] = delta_mb
                rows.append(
                    [
                        mode,
                        size,
                        r["rows"] - WARMUP_ENTRIES * LINES_PER_ENTRY,
                        r["seconds"],
                        r["before_kb"] / 1024,
                        r["after_kb"] / 1024,
                        delta_mb,
                    ]
                )
    table(
        "Ledger export, peak RSS of the exporting process (MB)",
        ["export", "journal lines", "rows written", "seconds", "peak before", "peak after", "growth"],
        rows,
    )
    small, large = min(growth), max(growth)
    key_figures(
        "pagination_memory",
        **{f"growth_mb_{size}": growth[size] for size in sorted(growth)},
        growth_difference_mb=growth[large] - growth[small],
    )


if __name__ == "__main__":
    main()
