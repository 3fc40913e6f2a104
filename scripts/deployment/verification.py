"""The run's verdict: the exactly-once check of Thredfi against the source, whether the run as a
whole succeeded, and its JSON summary (written, and printed for a person).

Imports nothing beyond the standard library, so ``tests/test_distributed_verification.py`` checks
:func:`check_exactly_once` on made-up data in milliseconds, without any of the services.
"""

from __future__ import annotations

import collections
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

KINDS = {"invoices": "invoices", "payments": "invoices/payments"}  # kind -> the client's resource
COUNTS = ("expected", "found", "duplicates", "missing", "unexpected", "amount_mismatches")
ERRORS = ("duplicates", "missing", "unexpected", "amount_mismatches")


def check_exactly_once(
    client: Any, expected: dict[str, dict[str, dict[str, int]]], threads: int = 8
) -> dict[str, Any]:
    """Every expected invoice and payment is in Thredfi exactly once, with its amount.

    ``expected`` maps a Thredfi business id to ``{"invoices": {external_id: cents}, "payments":
    {...}}``. Reads every business's invoices and payments through the provider's client
    (``client.list_records(business_id, resource)``) and counts, per kind: found, duplicates
    (extra copies of one ``external_id``), missing, unexpected (in Thredfi but not in the source)
    and amount mismatches. ``exact`` is true when all of those are zero and every kind found what
    it expected. (The provider's reconcile operator can take this function's place.)
    """

    def one(item: tuple[str, dict[str, dict[str, int]]]) -> dict[str, collections.Counter[str]]:
        business_id, want = item
        out = {}
        for kind, resource in KINDS.items():
            records = list(client.list_records(business_id, resource))
            seen = collections.Counter(str(r.get("external_id")) for r in records)
            amounts = {str(r.get("external_id")): int(r.get("total_amount_cents") or r.get("amount_cents") or 0)
                       for r in records}  # fmt: skip
            wanted = want[kind]
            out[kind] = collections.Counter(
                expected=len(wanted),
                found=len(records),
                duplicates=sum(n - 1 for n in seen.values() if n > 1),
                missing=sum(1 for ext in wanted if ext not in seen),
                unexpected=sum(1 for ext in seen if ext not in wanted),
                amount_mismatches=sum(
                    1 for ext, cents in wanted.items() if ext in amounts and amounts[ext] != cents
                ),
            )
        return out

    totals = {kind: collections.Counter[str]() for kind in KINDS}
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for result in pool.map(one, expected.items()):
            for kind, counter in result.items():
                totals[kind].update(counter)
    report: dict[str, Any] = {kind: {k: int(totals[kind][k]) for k in COUNTS} for kind in KINDS}
    report["businesses"] = len(expected)
    report["exact"] = all(report[kind][k] == 0 for kind in KINDS for k in ERRORS) and all(
        report[kind]["expected"] == report[kind]["found"] for kind in KINDS
    )
    return report


def succeeded(summary: dict[str, Any], *, kill_worker: bool, sandbox_outage: bool, days: int) -> bool:
    """The check is exact, the faults asked for happened, and every run of both phases succeeded."""
    faults, daily = summary["faults"], summary["daily"]
    return bool(
        summary["check"]["exact"]
        and ("restart" in faults) == kill_worker
        and ("restarted" in faults.get("outage", {})) == sandbox_outage
        and summary["bulk"]["state"] == "success"
        and not any(k.endswith(":failed") for k in daily["runs"])
        and daily["days_covered_by_a_successful_run"] == days
    )


def write_summary(summary: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, default=str))


def print_summary(summary: dict[str, Any], path: Path, kept: bool, stop_command: str) -> None:
    print("\n================ distributed run summary ================")
    if "source" in summary:
        s = summary["source"]
        print(f"source: {s['businesses']} businesses, {s['customers']} customers, {s['invoices']} invoices,"
              f" {s['payments']} payments")  # fmt: skip
    print("durations (s): " + ", ".join(f"{k} {v}" for k, v in summary.get("durations", {}).items())
          + f"; wall {summary.get('wall_seconds')}")  # fmt: skip
    for name in ("bulk", "daily"):
        part = summary.get(name)
        if part:
            print(f"{name}: {part.get('state', part.get('runs'))} in {part['seconds']}s; {part['task_instances']}"
                  f" task instances, {part['tries']} tries, {part['retried_task_instances']} retried;"
                  f" per worker {part['successes_per_worker']}; records {part['operator_summaries']}")  # fmt: skip
    daily = summary.get("daily")
    if daily:
        print(f"daily: {daily['days_covered_by_a_successful_run']} of {daily['days']} days covered by a successful run;"
              f" backfill dates left to scheduled runs {daily['backfill_dates_left_to_scheduled_runs']},"
              f" max runs with tasks running at once {daily['max_runs_with_tasks_running_at_once']},"
              f" overlapping neighbour runs on different workers"
              f" {daily['overlap']['neighbouring_runs_overlapping_on_different_workers']}")  # fmt: skip
    print("events:")
    for event in summary.get("events", []):
        details = {k: v for k, v in event.items() if k not in ("t", "event", "interrupted")}
        extra = f" interrupted {len(event['interrupted'])} task(s)" if "interrupted" in event else ""
        print(f"  {event['t']:>7}s {event['event']} {details}{extra}")
    for ti in (summary.get("bulk") or {}).get("killed_task_instances", []):
        print(f"  killed {ti['task']} (try {ti['killed_try']}) -> {ti['final']}")
    check = summary.get("check")
    if check:
        for kind in KINDS:
            c = check[kind]
            print(f"check {kind}: expected {c['expected']}, found {c['found']}, duplicates {c['duplicates']},"
                  f" missing {c['missing']}, unexpected {c['unexpected']}, amount mismatches {c['amount_mismatches']}")  # fmt: skip
        print("RESULT: every source invoice and payment is in Thredfi exactly once" if check["exact"]
              else "RESULT: MISMATCH")  # fmt: skip
    if "error" in summary:
        print(f"ERROR: {summary['error']} (logs: {summary['state_dir']}/logs)")
    print(f"summary: {path}")
    if kept:
        print(f"\nStill running. Open the UI at {summary['ui']} (every user is admin, no login).")
        print(f"Stop it with: {stop_command} --stop {summary['state_dir']}")
    else:
        print(
            f"Everything stopped. Logs and task logs stay in {summary['state_dir']}; rerun with --keep to"
            " explore the runs in the Airflow UI."
        )
