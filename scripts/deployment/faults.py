"""The faults the run injects while tasks run, each once: one worker's whole process tree SIGKILLed
(a lost machine) and restarted a few seconds later, then the Thredfi sandbox stopped for
``OUTAGE_SECONDS`` and started again on the same port and database."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from .airflow_client import Airflow
from .context import Run, elapsed, say
from .services import WORKERS

VICTIM = WORKERS[0]
OUTAGE_SECONDS = 10.0
THREDFI_TASKS = ("onboard", "upsert_customers", "sync_invoices", "record_payments")


def running_on(airflow: Airflow, worker: str, dag_id: str) -> list[dict[str, Any]]:
    rows = airflow.query(
        "SELECT run_id, task_id, map_index, try_number, pid FROM task_instance"
        " WHERE dag_id = %s AND state = 'running' AND hostname = %s ORDER BY task_id, map_index",
        (dag_id, worker),
    )
    return [
        {"run_id": r[0], "task_id": r[1], "map_index": r[2], "try_number": r[3], "pid": r[4]} for r in rows
    ]


def kill_worker(run: Run, name: str, dag_id: str) -> dict[str, Any]:
    """SIGKILL a worker's whole process tree (``Supervisor.kill_tree``), noting the tasks it ran."""
    interrupted = running_on(run.airflow, name, dag_id)
    processes, groups = run.sup.kill_tree(name)
    return run.event("worker_killed", worker=name, signal="SIGKILL", processes=processes,
                     process_groups=groups, interrupted=interrupted)  # fmt: skip


def sandbox_outage(run: Run, seconds: float) -> dict[str, Any]:
    with contextlib.suppress(Exception):
        run.sandbox_requests += int(run.sandbox_stats()["counters"].get("requests", 0))
    down = time.monotonic()
    run.sup.stop("sandbox", timeout=15)
    stopped = run.event("sandbox_stopped", port=run.dep.ports["sandbox"])
    time.sleep(max(0.0, seconds - (time.monotonic() - down)))
    run.sup.start("sandbox")
    up = run.event("sandbox_restarted", down_seconds=round(time.monotonic() - down, 1),
                   records_after_restart=run.sandbox_stats()["records"])  # fmt: skip
    return {"stopped": stopped, "restarted": up}


class Faults:
    """Kill a worker, then take the sandbox down, each once, while tasks run. The bulk phase gets
    them; whatever it finished too early for happens during the daily phase instead."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.done: dict[str, Any] = {}
        self.threads: list[threading.Thread] = []

    def busy(self) -> bool:
        return any(t.is_alive() for t in self.threads)

    def _background(self, target: Callable[[], None]) -> None:
        self.threads.append(threading.Thread(target=target, daemon=True))
        self.threads[-1].start()

    def tick(self, dag_id: str, counts: dict[str, int], prefix: str) -> None:
        """Called on each poll of a phase with the task-state counts: inject what is due."""
        args = self.run.args
        if self.busy():
            return
        total = sum(counts.values())
        done = counts.get("success", 0)
        if "kill" not in self.done and args.kill_worker and total > 1 and done >= args.kill_after * total:
            running = [
                ti for ti in running_on(self.run.airflow, VICTIM, dag_id) if ti["task_id"].startswith(prefix)
            ]
            # Rather a Thredfi operator caught mid-sync than a task that only reads the source.
            victims = [ti for ti in running if ti["task_id"].rsplit(".", 1)[-1] in THREDFI_TASKS]
            if not victims and done >= (args.kill_after + 0.25) * total:
                victims = running
            if victims:
                say(f"SIGKILL {VICTIM} (whole process tree) with {len(victims)} task(s) running on it")
                self.done["kill"] = kill_worker(self.run, VICTIM, dag_id)
                self._background(self._restart)
                return
        killed_first = "restart" in self.done or not args.kill_worker
        if ("outage" not in self.done and args.sandbox_outage and killed_first
                and done >= args.outage_after * total and counts.get("running")):  # fmt: skip
            say(f"stopping the Thredfi sandbox for {OUTAGE_SECONDS:.0f}s (same --db, same port)")
            self.done["outage"] = {"phase": dag_id}
            self._background(self._outage)

    def _restart(self) -> None:
        time.sleep(self.run.args.restart_after)
        self.run.sup.start(VICTIM)  # and wait until it consumes again
        self.done["restart"] = self.run.event(
            "worker_restarted", worker=VICTIM, down_seconds=round(elapsed() - self.done["kill"]["t"], 1)
        )
        say(f"{VICTIM} restarted and ready")

    def _outage(self) -> None:
        self.done["outage"].update(sandbox_outage(self.run, OUTAGE_SECONDS))
        say("sandbox back")

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=240)
