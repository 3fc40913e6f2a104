"""The run's two phases, each bounded by ``--phase-timeout``, with the faults injected while they run.

- bulk: trigger ``thredfi_scale_bulk`` once (a task group mapped over chunks of businesses) and
  wait for it, calling ``Faults.tick`` on each poll;
- daily: unpause ``thredfi_scale_daily`` (its scheduled runs start a few days back and keep
  coming) and ``airflow backfill create`` the whole window at the same time, so runs whose data
  overlap run at once on both workers; wait for every run and the backfill to end.
"""

from __future__ import annotations

import collections
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from .airflow_client import Airflow
from .context import Run, say
from .faults import Faults
from .reports import overlap_report, task_report
from .supervisor import wait_for

BULK_DAG = "thredfi_scale_bulk"
DAILY_DAG = "thredfi_scale_daily"


def ti_counts(airflow: Airflow, dag_id: str, run_ids: list[str] | None = None) -> dict[str, int]:
    params: list[Any]
    where, params = "dag_id = %s", [dag_id]
    if run_ids is not None:
        where += " AND run_id = ANY(%s)"
        params.append(run_ids)
    rows = airflow.query(f"SELECT COALESCE(state, 'none'), COUNT(*) FROM task_instance WHERE {where} GROUP BY 1",
                         tuple(params))  # fmt: skip
    return {state: int(n) for state, n in rows}


def wait_run(run: Run, dag_id: str, run_id: str, timeout: float,
             on_tick: Callable[[dict[str, int]], None] | None = None) -> str:  # fmt: skip
    """Poll the run's state until it ends (bounded); ``on_tick`` sees the task-state counts."""
    deadline = time.monotonic() + timeout
    last_print = 0.0
    while time.monotonic() < deadline:
        rows = run.airflow.query(
            "SELECT state FROM dag_run WHERE dag_id = %s AND run_id = %s", (dag_id, run_id)
        )
        state = rows[0][0] if rows else "absent"
        counts = ti_counts(run.airflow, dag_id, [run_id])
        if on_tick is not None:
            on_tick(counts)
        if time.monotonic() - last_print > 15:
            last_print = time.monotonic()
            say(f"  {dag_id} {state}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        if state in ("success", "failed"):
            return str(state)
        time.sleep(1)
    raise TimeoutError(f"{dag_id} run {run_id} did not finish within {timeout:.0f}s")


def bulk_phase(run: Run, faults: Faults) -> dict[str, Any]:
    """Trigger the mapped bulk sync; kill a worker and take the sandbox down while it runs."""
    run_id = f"bulk-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    run.airflow.api("PATCH", f"dags/{BULK_DAG}", {"is_paused": False})
    run.airflow.api("POST", f"dags/{BULK_DAG}/dagRuns", {"dag_run_id": run_id, "logical_date": None})
    run.event("bulk_triggered", run_id=run_id)
    started = time.monotonic()
    state = wait_run(run, BULK_DAG, run_id, timeout=run.args.phase_timeout,
                     on_tick=lambda counts: faults.tick(BULK_DAG, counts, "sync_chunk."))  # fmt: skip
    faults.join()
    seconds = round(time.monotonic() - started, 1)
    run.event("bulk_finished", run_id=run_id, state=state, seconds=seconds)
    return {"run_id": run_id, "state": state, "seconds": seconds,
            **task_report(run.airflow, BULK_DAG, [run_id], faults.done.get("kill"))}  # fmt: skip


def daily_phase(run: Run, faults: Faults) -> dict[str, Any]:
    """Unpause the daily DAG (its scheduled runs start a few days back) and backfill the window
    while they run; wait for every run to end."""
    args, airflow = run.args, run.airflow
    start, end = args.window_start, run.dep.window_end
    started = time.monotonic()
    airflow.api("PATCH", f"dags/{DAILY_DAG}", {"is_paused": False})
    run.event("daily_unpaused", scheduled_from=run.dep.env["THREDFI_SCALE_SCHEDULED_FROM"])
    # The scheduler catches up the last few days itself; the backfill then leaves those dates to it.
    wait_for("the scheduled daily runs", lambda: airflow.query(
        "SELECT COUNT(*) FROM dag_run WHERE dag_id = %s AND run_type = 'scheduled'", (DAILY_DAG,))[0][0]
        >= args.scheduled_days, timeout=240, interval=2)  # fmt: skip
    last = end - dt.timedelta(days=1)
    result = airflow.cli("backfill", "create", "--dag-id", DAILY_DAG, "--from-date", start.isoformat(),
                         "--to-date", last.isoformat(), "--max-active-runs", str(args.backfill_max_active_runs))  # fmt: skip
    backfill = airflow.query(
        "SELECT id FROM backfill WHERE dag_id = %s ORDER BY id DESC LIMIT 1", (DAILY_DAG,)
    )
    if not backfill:
        raise RuntimeError(f"airflow backfill create made no backfill:\n{result.stdout[-2000:]}")
    backfill_id = int(backfill[0][0])
    run.event(
        "backfill_created", backfill_id=backfill_id, from_date=start.isoformat(), to_date=last.isoformat()
    )
    say(f"backfill {backfill_id} created for {start} .. {last}, while scheduled runs continue")
    deadline = time.monotonic() + args.phase_timeout
    concurrency: collections.Counter[int] = collections.Counter()
    last_print = 0.0
    while True:
        runs = airflow.query("SELECT run_id, run_type, state FROM dag_run WHERE dag_id = %s", (DAILY_DAG,))
        done_backfill = airflow.query("SELECT completed_at FROM backfill WHERE id = %s", (backfill_id,))[0][0]
        scheduled = [r for r in runs if r[1] == "scheduled"]
        unfinished = [r for r in runs if r[2] not in ("success", "failed")]
        active = airflow.query(
            "SELECT COUNT(DISTINCT run_id) FROM task_instance WHERE dag_id = %s AND state = 'running'",
            (DAILY_DAG,),
        )[0][0]
        concurrency[int(active)] += 1
        faults.tick(DAILY_DAG, ti_counts(airflow, DAILY_DAG), "sync_day_chunk.")
        if time.monotonic() - last_print > 15:
            last_print = time.monotonic()
            states = collections.Counter(f"{r[1]}:{r[2]}" for r in runs)
            say("  daily runs: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
        if (
            done_backfill is not None
            and not unfinished
            and len(scheduled) >= args.scheduled_days
            and not faults.busy()
        ):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"daily runs did not finish within {args.phase_timeout:.0f}s")
        time.sleep(2)
    seconds = round(time.monotonic() - started, 1)
    runs = airflow.query(
        "SELECT run_id, run_type, state, data_interval_start FROM dag_run WHERE dag_id = %s ORDER BY data_interval_start",
        (DAILY_DAG,),
    )
    skipped = airflow.query(
        "SELECT sort_ordinal, exception_reason FROM backfill_dag_run WHERE backfill_id = %s"
        " AND exception_reason IS NOT NULL",
        (backfill_id,),
    )
    run_ids = [r[0] for r in runs]
    covered = {r[3].date() for r in runs if r[2] == "success" and start <= r[3].date() < end}
    kill = faults.done.get("kill")
    killed_here = kill and any(ti["run_id"] in run_ids for ti in kill["interrupted"])
    report = task_report(airflow, DAILY_DAG, run_ids, kill if killed_here else None)
    run.event("daily_finished", runs=len(runs), seconds=seconds)
    return {
        "seconds": seconds,
        "backfill_id": backfill_id,
        "runs": dict(collections.Counter(f"{r[1]}:{r[2]}" for r in runs)),
        "backfill_dates_left_to_scheduled_runs": len(skipped),
        "days": args.days,
        "days_covered_by_a_successful_run": len(covered),
        "max_runs_with_tasks_running_at_once": max(concurrency) if concurrency else 0,
        "overlap": overlap_report(airflow, DAILY_DAG, run_ids),
        **report,
    }
