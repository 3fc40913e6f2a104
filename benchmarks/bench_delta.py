"""Change data capture: what a scheduled invoice sync costs against the history a business holds.

For each history size (invoices Thredfi already holds for the business: 1,000, 20,000, 100,000 by
default) and each way of syncing, side by side in one run against one sandbox process:

- **before**: the sync as it was before the plan, reproduced here: every run reads the whole
  invoice list, one page after another, then creates what is absent (D + H/100 + c);
- **plan**: no state configured; the plan samples the first records, then goes per record (create
  first) or reads the pages concurrently, whichever page 1's ``count`` prices cheaper;
- **state**: the plan plus ``state_path`` (a local directory): an unchanged record costs nothing,
  an edit is one PUT to its stored id.

Scenarios, each in a business of its own: a day of 100 new invoices, then a rerun of that day, then
(state only) a day where 10 of those 100 were edited. Requests are the client's own count (every
HTTP exchange, tokens included); seconds are wall time. The same table is printed at loopback and
with a simulated round trip (``--rtt``, default 20 ms, added by the sandbox to every request).

    python benchmarks/bench_delta.py [--histories 1000,20000,100000] [--day 100] [--rtt 0.02]
"""

from __future__ import annotations

import argparse
import tempfile
from typing import Any

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

MODES = ("before", "plan", "state")


def before_operator() -> type:
    """The pre-plan lookup, as it was: the whole list, read in sequence, on every run."""
    from thredfi_provider.operators._sync.lookups import Index
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

    class Before(ThredfiSyncInvoicesOperator):
        def held(self, client: Any, lookups: Any, record: Any) -> Any:
            index = lookups._once(
                ("before", "invoices"),
                lambda: Index(client.list_records(lookups.business_id, "invoices")),
            )
            return index.by_external_id.get(record.external_id)

    return Before


def seed(box: Any, client: Any, business_id: str, history: int) -> None:
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

    run_operator(
        ThredfiSyncInvoicesOperator(task_id="t", business_id=business_id, records=invoices("tpl", 1))
    )
    [template] = list(client.list_records(business_id, "invoices"))
    box.control("POST", "seed/invoices", {"template_id": template["id"], "prefix": "old", "n": history - 1})


def scenario(box: Any, history: int, mode: str, day: int) -> list[list[Any]]:
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

    client = client_for(box)
    business_id = onboard(client, f"h{history}-{mode}")
    seed(box, client, business_id, history)
    cls = before_operator() if mode == "before" else ThredfiSyncInvoicesOperator
    options: dict[str, Any] = (
        {"state_path": tempfile.mkdtemp(prefix="thredfi-bench-state-")} if mode == "state" else {}
    )
    records = invoices("new", day)

    def sync(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], float]:
        op = cls(task_id="s", business_id=business_id, records=rows, **options)
        summary, seconds = timed(run_operator, op)
        return summary, seconds

    rows = []
    first, s1 = sync(records)
    assert first["created"] == day, first
    rows.append([history, mode, f"a day of {day} new", first["requests"], s1])
    again, s2 = sync(records)
    assert again["unchanged"] == day, again
    rows.append([history, mode, "rerun of that day", again["requests"], s2])
    if mode == "state":
        edited = [dict(r, memo="edited") if i % (day // 10 or 1) == 0 else r for i, r in enumerate(records)]
        changed, s3 = sync(edited)
        assert changed["updated"] == sum(1 for r in edited if r.get("memo")), changed
        rows.append([history, mode, f"{changed['updated']} edits among {day}", changed["requests"], s3])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--histories", default="1000,20000,100000")
    parser.add_argument("--day", type=int, default=100)
    parser.add_argument("--rtt", type=float, default=0.02)
    args = parser.parse_args()
    histories = [int(h) for h in args.histories.split(",")]
    figures: dict[str, Any] = {}
    for label, flags in (
        ("loopback", ()),
        (f"{args.rtt * 1000:.0f} ms RTT", ("--latency-seconds", str(args.rtt))),
    ):
        with sandbox(*flags) as box:
            use_connection(box)
            rows = [row for h in histories for mode in MODES for row in scenario(box, h, mode, args.day)]
        table(
            f"Invoice sync requests and seconds by history size, {label}",
            ["history", "mode", "scenario", "requests", "seconds"],
            rows,
        )
        by = {(r[0], r[1], r[2]): r for r in rows}
        for h in histories:
            new, rerun = f"a day of {args.day} new", "rerun of that day"
            before, plan = by[h, "before", new], by[h, "plan", new]
            print(
                f"  history {h:>7,}: a day costs {before[3]} -> {plan[3]} requests "
                f"({before[4] / max(plan[4], 1e-9):.1f}x faster); a rerun {by[h, 'before', rerun][3]} -> "
                f"{by[h, 'plan', rerun][3]} (plan) -> {by[h, 'state', rerun][3]} (state)"
            )
        tag = "loop" if label == "loopback" else "rtt"
        for h in histories:
            figures[f"{tag}_day_before_{h}"] = by[h, "before", f"a day of {args.day} new"][3]
            figures[f"{tag}_day_plan_{h}"] = by[h, "plan", f"a day of {args.day} new"][3]
            figures[f"{tag}_rerun_state_{h}"] = by[h, "state", "rerun of that day"][3]
    key_figures("delta", **figures)


if __name__ == "__main__":
    main()
