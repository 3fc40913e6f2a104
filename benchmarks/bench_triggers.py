"""500 and 2,000 ThredfiResourceTriggers in one event loop: the loop's stalls and memory per trigger.

A triggerer runs every deferred task's trigger in one asyncio loop; a trigger that blocks the
loop delays all the others. Each trigger here waits for its own invoice to be paid. A probe
coroutine asks to wake every 10 ms and records how late it wakes (the stall). After a few
polling rounds every invoice is paid from another process (at a lower CPU priority, as the
outside world it stands for is not on the triggerer's machine), and the run ends when all events
have arrived. Memory per trigger is the process's RSS growth while all poll, divided by their
number. Each size runs in a fresh process of its own, with its own sandbox.

A full (generation 2) garbage collection stops every thread, whoever triggers it, and its cost
grows with everything the process holds, not with what the triggers do. ``gc.callbacks`` record
each one's start and stop; a stall overlapping one is counted as a GC pause, the rest as loop
stalls. Targets at 2,000 triggers: worst loop stall under 100 ms, p99 under 20 ms.

    python benchmarks/bench_triggers.py [--triggers 500 2000] [--poll 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
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
WORST_TARGET_MS = 100.0
P99_TARGET_MS = 20.0
TARGET_TRIGGERS = 2000  # the size the targets are set at; other sizes are shown against them for reference


async def probe(wakes: list[tuple[float, float, float]], stop: asyncio.Event) -> None:
    """Each tick's (when it should have woken, when it did, the process's CPU seconds while late)."""
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(TICK)
        woke, cpu = time.perf_counter(), time.process_time()
        wakes.append((start + TICK, woke, cpu))


async def executor_probe(waits: list[float], stop: asyncio.Event) -> None:
    """What another trigger's ``asyncio.to_thread`` waits for a thread of the loop's default executor."""
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.to_thread(time.perf_counter)
        waits.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.1)


class FullCollections:
    """Start and stop times of every generation-2 collection, from whichever thread ran it."""

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []
        self._started: float | None = None

    def __call__(self, phase: str, info: dict) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.spans.append((self._started, time.perf_counter()))
            self._started = None

    def overlaps(self, start: float, end: float) -> bool:
        return any(gc_start < end and gc_stop > start for gc_start, gc_stop in self.spans)


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[max(0, int(len(ordered) * fraction) - 1)] if ordered else 0.0


async def first_event(trigger: object) -> dict:
    async for event in trigger.run():  # type: ignore[attr-defined]
        return dict(event.payload)
    raise AssertionError("trigger ended without an event")


async def scenario(n: int, poll: float, business_id: str, pay: threading.Event) -> dict[str, float]:
    from thredfi_provider.triggers.resource import ThredfiResourceTrigger

    process = psutil.Process()
    wakes: list[tuple[float, float, float]] = []
    stop = asyncio.Event()
    collections = FullCollections()
    gc.callbacks.append(collections)
    prober = asyncio.create_task(probe(wakes, stop))
    executor_waits: list[float] = []
    executor_prober = asyncio.create_task(executor_probe(executor_waits, stop))
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
    tasks = []
    for trigger in triggers:
        # As Airflow's TriggerRunner.create_triggers does: yield to the loop between creations.
        tasks.append(asyncio.create_task(first_event(trigger)))
        await asyncio.sleep(0)
    await asyncio.sleep(poll * 3)  # a few polling rounds with nothing to find
    rss_polling = process.memory_info().rss
    paid_at = time.perf_counter()
    pay.set()
    events = await asyncio.gather(*tasks)
    all_done = time.perf_counter() - paid_at
    stop.set()
    await prober
    await executor_prober
    gc.callbacks.remove(collections)
    ok = sum(1 for e in events if e.get("status") == "success")
    loop_stalls, gc_pauses, busy_stalls, before_paying, while_paying = [], [], [], [], []
    for (_, _, cpu_before), (due, woke, cpu) in itertools.pairwise(wakes):
        stall = max(0.0, woke - due) * 1000
        (gc_pauses if collections.overlaps(due, woke) else loop_stalls).append(stall)
        if not collections.overlaps(due, woke):
            # After paid_at the payer process and the sandbox are busy on the same 2 cores.
            (while_paying if due >= paid_at else before_paying).append(stall)
        # The process had at least half a core while the tick was late: the stall is ours (a
        # thread holding the GIL), not other processes on the machine taking the CPU.
        if not collections.overlaps(due, woke) and cpu - cpu_before >= 0.5 * (woke - due + TICK):
            busy_stalls.append(stall)
    ordered = sorted(loop_stalls)
    everything = sorted(loop_stalls + gc_pauses)
    return {
        "events_ok": ok,
        "worst_stall_ms": ordered[-1],
        "p99_stall_ms": percentile(ordered, 0.99),
        "median_stall_ms": statistics.median(ordered),
        "worst_gc_pause_ms": max(gc_pauses, default=0.0),
        "full_gcs": len(collections.spans),
        "worst_any_ms": everything[-1],
        "p99_any_ms": percentile(everything, 0.99),
        "ticks": len(wakes),
        "worst_stall_not_starved_ms": max(busy_stalls, default=0.0),
        "worst_stall_before_paying_ms": max(before_paying, default=0.0),
        "worst_stall_while_paying_ms": max(while_paying, default=0.0),
        "default_executor_p99_ms": percentile(sorted(executor_waits), 0.99),
        "default_executor_worst_ms": max(executor_waits, default=0.0),
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
        client.create(
            business_id,
            "invoices/payments",
            {"external_id": f"pay-{i}", "total_amount_cents": cents, "amount_cents": cents, "payment_date": "2024-03-02",
             "allocations": [{"invoice_id": invoice["id"], "amount_cents": cents}]},
            idempotency_key=f"bench-pay-{i}",
        )  # fmt: skip

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(pay, range(n)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--triggers", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--pay", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pay:
        # The payer stands in for Thredfi's users, who do not share the triggerer's CPU: here it
        # shares 2 cores with the triggerer and the sandbox, so it yields to them when they are
        # busy instead of taking a third of the machine from the loop being measured.
        os.nice(10)
        pay_invoices(args.pay[0], int(args.pay[1]))
        return
    if len(args.triggers) > 1:
        # One fresh process per size: RSS growth and GC behaviour are not the previous run's.
        for n in args.triggers:
            subprocess.run(
                [sys.executable, __file__, "--triggers", str(n), "--poll", str(args.poll)],
                check=True,
                env=os.environ,
            )
        return
    one(args.triggers[0], args.poll)


def one(triggers: int, poll: float) -> None:
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

    with sandbox() as box:
        use_connection(box)
        setup = client_for(box)
        business_id = onboard(setup, "triggers")
        from harness import run_operator

        run_operator(
            ThredfiSyncInvoicesOperator(
                task_id="s", business_id=business_id, records=invoices("inv", triggers)
            )
        )
        pay = threading.Event()

        def pay_all() -> None:
            """Pay from another process, so the measured loop shares its GIL with nothing but triggers."""
            pay.wait()
            subprocess.run(
                [sys.executable, __file__, "--pay", business_id, str(triggers)],
                check=True,
                env=os.environ,
            )

        payer = threading.Thread(target=pay_all)
        payer.start()
        from thredfi_provider.hooks import thredfi as hook_module

        hook_module.clear_shared_clients()  # the triggers start with a cold token cache, as in a new triggerer
        tokens_before = box.token_requests()
        result = asyncio.run(scenario(triggers, poll, business_id, pay))
        payer.join()
        trigger_tokens = box.token_requests() - tokens_before
    met = result["worst_stall_ms"] < WORST_TARGET_MS and result["p99_stall_ms"] < P99_TARGET_MS
    table(
        f"{triggers} ThredfiResourceTriggers in one event loop, polling every {poll}s",
        ["measure", "value"],
        [["success events", result["events_ok"]],
         ["worst event-loop stall, full GCs aside (ms)", result["worst_stall_ms"]],
         ["p99 stall, full GCs aside (ms)", result["p99_stall_ms"]],
         ["median stall (ms)", result["median_stall_ms"]],
         ["full (gen 2) GCs during the run", result["full_gcs"]],
         ["worst stall overlapping a full GC (ms)", result["worst_gc_pause_ms"]],
         ["worst / p99 stall, everything (ms)", f"{result['worst_any_ms']:.1f} / {result['p99_any_ms']:.1f}"],
         ["probe ticks", result["ticks"]],
         ["worst loop stall while this process had >= half a core (ms)", result["worst_stall_not_starved_ms"]],
         ["worst loop stall before / while the invoices are paid (ms)",
          f"{result['worst_stall_before_paying_ms']:.1f} / {result['worst_stall_while_paying_ms']:.1f}"],
         ["another trigger's to_thread wait, p99 / worst (ms)",
          f"{result['default_executor_p99_ms']:.1f} / {result['default_executor_worst_ms']:.1f}"],
         ["RSS per polling trigger (KB)", result["kb_per_trigger"]],
         ["seconds from 'all paid' to the last event", result["seconds_to_all_events"]],
         ["token requests (the triggers + 2 by the payer process)", trigger_tokens]],
    )  # fmt: skip
    verdict = "met" if met else "NOT MET"
    print(f"\nTarget: worst loop stall < {WORST_TARGET_MS:.0f} ms and p99 < {P99_TARGET_MS:.0f} ms "
          f"(set at {TARGET_TRIGGERS:,} triggers): {verdict} at {triggers:,} "
          f"({result['worst_stall_ms']:.1f} ms, {result['p99_stall_ms']:.1f} ms)")  # fmt: skip
    key_figures("triggers", triggers=triggers, token_requests=trigger_tokens, **result,
                target=f"worst<{WORST_TARGET_MS:.0f}ms,p99<{P99_TARGET_MS:.0f}ms", target_met=met)  # fmt: skip
    if result["events_ok"] != triggers:
        raise SystemExit("not every trigger fired")


if __name__ == "__main__":
    main()
