"""What a phase's task instances say, read from Airflow's metadata database: their tries and
workers, the operators' created/unchanged counts, what became of the tasks a killed worker ran,
and whether runs of neighbouring days ran at once on different workers."""

from __future__ import annotations

import collections
import datetime as dt
import json
from typing import Any

from .airflow_client import Airflow


def task_report(
    airflow: Airflow, dag_id: str, run_ids: list[str], kill: dict[str, Any] | None
) -> dict[str, Any]:
    """Task instances, their tries and workers, the operators' created/existing counts, and what
    became of the task instances the killed worker was running."""
    rows = airflow.query(
        "SELECT task_id, map_index, state, try_number, hostname, retry_reason FROM task_instance"
        " WHERE dag_id = %s AND run_id = ANY(%s)",
        (dag_id, run_ids),
    )
    history = airflow.query(
        "SELECT task_id, map_index, run_id, try_number, state, hostname FROM task_instance_history"
        " WHERE dag_id = %s AND run_id = ANY(%s) ORDER BY try_number",
        (dag_id, run_ids),
    )
    per_worker = collections.Counter(r[4] for r in rows if r[2] == "success")
    summaries: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    bodies: dict[tuple[str, str, int], dict[str, Any]] = {}
    for run_id, task_id, map_index, key, value in airflow.query(
        "SELECT run_id, task_id, map_index, key, value FROM xcom WHERE dag_id = %s AND run_id = ANY(%s)"
        " AND key IN ('summary', 'return_value')",
        (dag_id, run_ids),
    ):
        body = json.loads(value) if isinstance(value, str) else value
        # A sync operator returns its summary; the older names push it as ``summary`` instead.
        ti_key = (run_id, task_id, map_index)
        if isinstance(body, dict) and "created" in body and (key == "summary" or ti_key not in bodies):
            bodies[ti_key] = body
    for (_run_id, task_id, _map_index), body in bodies.items():
        counts = summaries[task_id.rsplit(".", 1)[-1]]
        counts["created"] += int(body.get("created") or 0)
        # "existing" (older summaries) and "unchanged": Thredfi already held the record as sent.
        counts["unchanged"] += int(body.get("existing") or 0) + int(body.get("unchanged") or 0)
        counts["updated"] += int(body.get("updated") or 0)
        counts["failed"] += len(body.get("failed") or []) + len(body.get("conflicts") or [])
    report: dict[str, Any] = {
        "task_instances": len(rows),
        "task_states": dict(collections.Counter(r[2] for r in rows)),
        "tries": sum(int(r[3]) for r in rows),
        "retried_task_instances": sum(1 for r in rows if int(r[3]) > 1),
        "failed_tries": len(history),
        "successes_per_worker": dict(per_worker),
        "operator_summaries": {k: dict(v) for k, v in summaries.items()},
    }
    if kill:
        fate = []
        for ti in kill["interrupted"]:
            final = next((r for r in rows if r[0] == ti["task_id"] and r[1] == ti["map_index"]), None)
            tries = [
                {"try": h[3], "state": h[4], "worker": h[5]}
                for h in history
                if h[0] == ti["task_id"] and h[1] == ti["map_index"] and h[2] == ti["run_id"]
            ]
            fate.append({"task": f"{ti['task_id']}[{ti['map_index']}]", "killed_try": ti["try_number"],
                         "earlier_tries": tries,
                         "final": {"state": final[2], "try": final[3], "worker": final[4]} if final else None})  # fmt: skip
        report["killed_task_instances"] = fate
    return report


def overlap_report(airflow: Airflow, dag_id: str, run_ids: list[str]) -> dict[str, Any]:
    """Runs of neighbouring days share a day of data (the look-back); count how often the sync tasks
    of two such runs were running at the same time on different workers."""
    rows = airflow.query(
        "SELECT ti.run_id, dr.data_interval_start, ti.hostname, ti.start_date, ti.end_date FROM task_instance ti"
        " JOIN dag_run dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id"
        " WHERE ti.dag_id = %s AND ti.run_id = ANY(%s) AND ti.task_id LIKE 'sync_day_chunk.%%'"
        " AND ti.start_date IS NOT NULL AND ti.end_date IS NOT NULL",
        (dag_id, run_ids),
    )
    by_day: dict[dt.date, list[tuple[Any, ...]]] = collections.defaultdict(list)
    for run_id, day, host, start, end in rows:
        by_day[day.date()].append((run_id, host, start, end))
    pairs = 0
    examples: list[dict[str, list[str]]] = []
    for day, tis in sorted(by_day.items()):
        neighbour = by_day.get(day + dt.timedelta(days=1), [])
        hit = next(((a, b) for a in tis for b in neighbour
                    if a[1] != b[1] and a[2] < b[3] and b[2] < a[3]), None)  # fmt: skip
        if hit:
            pairs += 1
            if len(examples) < 3:
                examples.append({"runs": [hit[0][0], hit[1][0]], "workers": [hit[0][1], hit[1][1]]})
    return {"neighbouring_runs_overlapping_on_different_workers": pairs, "examples": examples}
