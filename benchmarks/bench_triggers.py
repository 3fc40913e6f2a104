"""500 ThredfiResourceTriggers in one event loop: the loop's worst stall and memory per trigger.

A triggerer runs every deferred task's trigger in one asyncio loop; a trigger that blocks the
loop delays all the others. Each trigger here waits for its own invoice to be paid. A probe
coroutine asks to wake every 10 ms and records how late it wakes (the stall). After a few
polling rounds every invoice is paid from another thread, and the run ends when all 500 events
have arrived. Memory per trigger is the process's RSS growth while all 500 poll, divided by 500.

    python benchmarks/bench_triggers.py [--triggers 500] [--poll 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
from harness import client_for, invoices, key_figures, onboard, sandbox, table, use_connection

TICK = 0.01


async def probe(stalls: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(TICK)
        stalls.append(max(0.0, time.perf_counter() - start - TICK))


async def first_event(trigger: object) -> dict:
    async for event in trigger.run():  # type: ignore[attr-defined]
        return dict(event.payload)
    raise AssertionError("trigger ended without an event")


async def scenario(n: int, poll: float, business_id: str, pay: threading.Event) -> dict[str, float]:
    from thredfi_provider.triggers.resource import ThredfiResourceTrigger

    process = psutil.Process()
    stalls: list[float] = []
    stop = asyncio.Event()
    prober = asyncio.create_task(probe(stalls, stop))
    await asyncio.sleep(0.5)
    rss_before = process.memory_info().rss
    triggers = [
        ThredfiResourceTrigger(
            thredfi_conn_id="thredfi_default",
            query={"resource": "invoice", "business_id": business_id, "external_id": f"inv-{i}",
                   "condition": {"status": ["paid"]}},
            poll_interval=poll,
            timeout_at=time.time() + 600,
        )
        for i in range(n)
    ]  # fmt: skip
    tasks = [asyncio.create_task(first_event(t)) for t in triggers]
    await asyncio.sleep(poll * 3)  # a few polling rounds with nothing to find
    rss_polling = process.memory_info().rss
    paid_at = time.perf_counter()
    pay.set()
    events = await asyncio.gather(*tasks)
    all_done = time.perf_counter() - paid_at
    stop.set()
    await prober
    ok = sum(1 for e in events if e.get("status") == "success")
    ordered = sorted(stalls)
    return {
        "events_ok": ok,
        "worst_stall_ms": ordered[-1] * 1000,
        "p99_stall_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
        "median_stall_ms": statistics.median(ordered) * 1000,
        "kb_per_trigger": (rss_polling - rss_before) / 1024 / n,
        "seconds_to_all_events": all_done,
    }


def pay_invoices(business_id: str, n: int) -> None:
    from thredfi_provider.hooks.thredfi import ThredfiHook

    client = ThredfiHook().get_conn()
    found = {r["external_id"]: r for r in client.list_records(business_id, "invoices")}

    def pay(i: int) -> None:
        invoice = found[f"inv-{i}"]
        cents = invoice["total_amount_cents"]
        client.record_payment(
            business_id,
            {"external_id": f"pay-{i}", "total_amount_cents": cents, "amount_cents": cents, "payment_date": "2024-03-02",
             "allocations": [{"invoice_id": invoice["id"], "amount_cents": cents}]},
            f"bench-pay-{i}",
        )  # fmt: skip

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(pay, range(n)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--triggers", type=int, default=500)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--pay", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pay:
        pay_invoices(args.pay[0], int(args.pay[1]))
        return
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

    with sandbox() as box:
        use_connection(box)
        setup = client_for(box)
        business_id = onboard(setup, "triggers")
        from harness import run_operator

        run_operator(
            ThredfiSyncInvoicesOperator(
                task_id="s", business_id=business_id, records=invoices("inv", args.triggers)
            )
        )
        pay = threading.Event()

        def pay_all() -> None:
            """Pay from another process, so the measured loop shares its GIL with nothing but triggers."""
            pay.wait()
            subprocess.run(
                [sys.executable, __file__, "--pay", business_id, str(args.triggers)],
                check=True,
                env=os.environ,
            )

        payer = threading.Thread(target=pay_all)
        payer.start()
        from thredfi_provider.hooks import thredfi as hook_module

        hook_module.clear_shared_clients()  # the triggers start with a cold token cache, as in a new triggerer
        tokens_before = box.token_requests()
        result = asyncio.run(scenario(args.triggers, args.poll, business_id, pay))
        payer.join()
        trigger_tokens = box.token_requests() - tokens_before
    table(
        f"{args.triggers} ThredfiResourceTriggers in one event loop, polling every {args.poll}s",
        ["measure", "value"],
        [["success events", result["events_ok"]],
         ["worst event-loop stall (ms)", result["worst_stall_ms"]],
         ["p99 stall (ms)", result["p99_stall_ms"]],
         ["median stall (ms)", result["median_stall_ms"]],
         ["RSS per polling trigger (KB)", result["kb_per_trigger"]],
         ["seconds from 'all paid' to the last event", result["seconds_to_all_events"]],
         ["token requests (the triggers + 2 by the payer process)", trigger_tokens]],
    )  # fmt: skip
    key_figures("triggers", triggers=args.triggers, token_requests=trigger_tokens, **result)
    if result["events_ok"] != args.triggers:
        raise SystemExit("not every trigger fired")


if __name__ == "__main__":
    main()
