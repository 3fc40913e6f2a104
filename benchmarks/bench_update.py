"""True sync's cost: re-syncing 2,000 invoices of which 10% changed, against a full re-create.

Side by side in one run, against the same sandbox process:

- **re-create**: the 2,000 invoices created into an empty business (what every run would cost
  if a sync could only create: one POST per record);
- **re-sync, 10% changed**: the same 2,000 synced again after 200 were re-priced in the source:
  the held invoices are read once in pages, 1,800 are unchanged (no request) and 200 are PUT;
- **re-sync, nothing changed**: the rerun every scheduled day makes.

Reported: API requests (tokens excluded), seconds, and the ratios.

    python benchmarks/bench_update.py [--n 2000] [--changed 0.1]
"""

from __future__ import annotations

import argparse

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


def api_requests(box) -> int:
    counters = box.stats()["counters"]
    return (
        int(counters["requests"])
        - int(counters.get("partner_token", 0))
        - int(counters.get("business_token", 0))
    )


def sync(business_id: str, records: list[dict]) -> dict:
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

    return run_operator(ThredfiSyncInvoicesOperator(task_id="sync", business_id=business_id, records=records))


def measured(box, business_id: str, records: list[dict]) -> tuple[dict, float, int]:
    before = api_requests(box)
    summary, seconds = timed(sync, business_id, records)
    return summary, seconds, api_requests(box) - before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--changed", type=float, default=0.1)
    args = parser.parse_args()
    from thredfi_provider.hooks import thredfi as hook_module

    with sandbox() as box:
        use_connection(box)
        setup = client_for(box)
        records = invoices("inv", args.n)
        hook_module.clear_shared_clients()
        fresh = onboard(setup, "fresh")
        created, create_s, create_req = measured(box, fresh, records)
        step = max(1, round(1 / args.changed))
        edited = [
            {**r, "line_items": [{**r["line_items"][0], "unit_price_cents": r["line_items"][0]["unit_price_cents"] + 7}]}
            if i % step == 0 else r
            for i, r in enumerate(records)
        ]  # fmt: skip
        updated, update_s, update_req = measured(box, fresh, edited)
        rerun, rerun_s, rerun_req = measured(box, fresh, edited)
    assert created["created"] == args.n, created
    assert (updated["updated"], updated["unchanged"]) == (
        len(range(0, args.n, step)),
        args.n - len(range(0, args.n, step)),
    )
    assert (rerun["updated"], rerun["unchanged"]) == (0, args.n)
    table(
        f"{args.n} invoices, {updated['updated']} changed in the source",
        ["run", "API requests", "seconds", "requests vs re-create", "time vs re-create"],
        [["re-create (POST each)", create_req, create_s, 1.0, 1.0],
         [f"re-sync, {updated['updated']} changed", update_req, update_s, update_req / create_req, update_s / create_s],
         ["re-sync, nothing changed", rerun_req, rerun_s, rerun_req / create_req, rerun_s / create_s]],
    )  # fmt: skip
    key_figures(
        "update", n=args.n, changed=updated["updated"], recreate_requests=create_req, resync_requests=update_req,
        rerun_requests=rerun_req, request_ratio=update_req / create_req, time_ratio=update_s / create_s,
        rerun_time_ratio=rerun_s / create_s,
    )  # fmt: skip


if __name__ == "__main__":
    main()
