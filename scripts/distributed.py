"""A real distributed Airflow deployment (CeleryExecutor, PostgreSQL, Redis, two workers) syncing
many businesses into the Thredfi sandbox through faults, then an exact check.

Run by ``make demo-distributed``; ``--small`` is the preset ``make test-distributed`` uses. This
file is the driver: its options and the order of the steps. Each step is a module of
``scripts/deployment/`` (docs/scale.md, "The distributed run"):

1. ``install``: ``redis-server``/``postgresql`` (apt, only when absent) and the ``distributed``
   extra (Celery provider, psycopg2, asyncpg) into the venv;
2. ``services`` describes PostgreSQL, Redis, the Thredfi sandbox and the Airflow components
   (scheduler, dag-processor, triggerer, api-server, two Celery workers), each on a free loopback
   port under one state directory; ``supervisor`` starts them, each bounded in time;
3. the source database (PostgreSQL) is seeded and Airflow's metadata database migrated;
4. ``phases``: the bulk phase (``thredfi_scale_bulk``) and the daily phase (``thredfi_scale_daily``
   and a backfill of its window), while ``faults`` SIGKILLs one worker's process tree and
   restarts it, and stops the sandbox for 10 seconds;
5. ``verification``: every source invoice and payment is in Thredfi exactly once, with its amount;
   a JSON summary is written and printed, and everything stops (also on failure or Ctrl-C).
   ``--keep`` leaves the deployment running and prints the UI's URL; ``--stop STATE_DIR`` stops it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import shutil
import signal
import sys
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import Any

from deployment import verification
from deployment.airflow_client import Airflow
from deployment.context import Run, elapsed, say
from deployment.faults import Faults
from deployment.install import ensure_installed, pg_bin
from deployment.phases import BULK_DAG, DAILY_DAG, bulk_phase, daily_phase
from deployment.services import ROOT, WORKERS, WORKLOAD, Deployment, drop_shm, table
from deployment.supervisor import Supervisor, stop_kept

# The test preset: every phase and fault of the full run, on 8 businesses over 4 days.
SMALL = {"businesses": 8, "invoices_per_business": 20, "days": 4, "businesses_per_task": 1, "daily_chunks": 2,
         "daily_businesses": 4, "scheduled_days": 2, "heartbeat_timeout": 45}  # fmt: skip
OPTIONS: list[tuple[str, dict[str, Any]]] = [
    ("--businesses", {"type": int, "default": 200}),
    ("--invoices-per-business", {"type": int, "default": 100, "help": "history invoices per business"}),
    ("--days", {"type": int, "default": 30, "help": "days in the daily window (the backfill)"}),
    ("--daily-businesses", {"type": int, "default": 20,
                            "help": "businesses with daily invoices (the daily DAG and its backfill sync these)"}),
    ("--daily-per-business", {"type": int, "default": 2, "help": "invoices per business per day"}),
    ("--businesses-per-task", {"type": int, "default": 5,
                               "help": "businesses per mapped task-group instance of the bulk DAG"}),
    ("--daily-chunks", {"type": int, "default": 2, "help": "mapped instances per daily run"}),
    ("--max-workers", {"type": int, "default": 8, "help": "operator threads per mapped instance"}),
    ("--parallelism", {"type": int, "default": 32, "help": "[core] parallelism (tasks queued or running)"}),
    ("--scheduled-days", {"type": int, "default": 3,
                          "help": "scheduled (not backfilled) daily runs: the scheduler starts this many days back"}),
    ("--backfill-max-active-runs", {"type": int, "default": 4}),
    ("--small", {"action": "store_true",
                 "help": "the test preset: 8 businesses x 20 invoices, 4 days, 1 business per task, same faults"}),
    ("--no-kill-worker", {"dest": "kill_worker", "action": "store_false"}),
    ("--no-sandbox-outage", {"dest": "sandbox_outage", "action": "store_false"}),
    ("--kill-after", {"type": float, "default": 0.2, "help": "fraction of bulk tasks done before the kill"}),
    ("--outage-after", {"type": float, "default": 0.5, "help": "fraction done before the outage"}),
    ("--restart-after", {"type": float, "default": 5.0, "help": "seconds the killed worker stays down"}),
    ("--heartbeat-timeout", {"type": int, "default": 60,
                             "help": "[scheduler] task_instance_heartbeat_timeout: how soon a killed task is retried"}),
    ("--queued-timeout", {"type": int, "default": 600, "help": "[scheduler] task_queued_timeout"}),
    ("--phase-timeout", {"type": float, "default": 2400, "help": "seconds each phase may take"}),
    ("--sandbox-db", {"type": Path,
                      "help": "the sandbox's --db file (default: on /dev/shm when there is one, else in the state dir)"}),
    ("--state-dir", {"type": Path, "help": "default: a new /tmp/thredfi-distributed-* directory"}),
    ("--summary", {"type": Path, "help": "where to write the JSON summary (default: STATE/summary.json)"}),
    ("--keep", {"action": "store_true", "help": "leave the deployment running; print the UI's URL"}),
    ("--stop", {"type": Path, "metavar": "STATE_DIR", "help": "stop a deployment left by --keep"}),
]  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    for flag, options in OPTIONS:
        parser.add_argument(flag, **options)
    if "--small" in (sys.argv[1:] if argv is None else argv):
        parser.set_defaults(**SMALL)  # flags given next to --small still win
    args = parser.parse_args(argv)
    args.today = dt.datetime.now(dt.UTC).date()
    args.window_start = args.today - dt.timedelta(days=args.days)
    if args.scheduled_days > args.days:
        parser.error("--scheduled-days must not exceed --days")
    return args


@contextlib.contextmanager
def step(timings: dict[str, float], name: str) -> Generator[None]:
    started = elapsed()
    say(f"== {name}")
    try:
        yield
    finally:
        timings[name] = round(elapsed() - started, 1)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.stop:
        drop_shm(Path(stop_kept(args.stop)["sandbox_db"]))
        return 0
    signal.signal(signal.SIGTERM, _interrupt)
    timings: dict[str, float] = {}
    summary: dict[str, Any] = {"ok": False, "config": {
        k: (str(v) if isinstance(v, dt.date | Path) else v) for k, v in vars(args).items()}}  # fmt: skip
    state = args.state_dir or Path(tempfile.mkdtemp(prefix="thredfi-distributed-"))
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o755)  # the postgres user must reach its data directory inside
    summary_path = args.summary or state / "summary.json"
    with step(timings, "install"):
        summary["installed"] = ensure_installed()
    dep = Deployment(state, args, pg_bin())
    sup = Supervisor(state, table(dep), extra={"sandbox_db": str(dep.sandbox_db)})
    run = Run(dep, sup, Airflow(dep))
    say(f"state directory {state}; logs in {sup.logs}")
    try:
        with step(timings, "services"):
            sup.start("postgres")
            sup.start("redis", "sandbox")
            say(
                f"postgres :{dep.ports['postgres']}, redis :{dep.ports['redis']}, sandbox :{dep.ports['sandbox']}"
            )
        with step(timings, "seed"):
            sys.path.insert(0, str(WORKLOAD))
            import thredfi_scale_source as source

            summary["source"] = source.seed(dep.dsn("source"), businesses=args.businesses,
                                            invoices_per_business=args.invoices_per_business,
                                            daily_per_business=args.daily_per_business,
                                            daily_businesses=args.daily_businesses,
                                            window_start=args.window_start, window_end=args.today)  # fmt: skip
            say(f"source: {summary['source']}")
        with step(timings, "migrate"):
            run.airflow.cli("db", "migrate", timeout=600)
        with step(timings, "airflow_start"):
            dep.prepare_dags_folder()
            sup.start("api-server", "scheduler", "dag-processor", "triggerer", *WORKERS)
            run.airflow.wait_parsed(BULK_DAG, DAILY_DAG)
            say(f"Airflow up: UI {dep.api_url}/ ; workers {', '.join(WORKERS)}")
        faults = Faults(run)
        with step(timings, "bulk"):
            summary["bulk"] = bulk_phase(run, faults)
        with step(timings, "daily_and_backfill"):
            summary["daily"] = daily_phase(run, faults)
        summary["faults"] = faults.done
        with step(timings, "check"):
            with contextlib.suppress(Exception):
                stats = run.sandbox_stats()
                summary["sandbox"] = {"records": stats["records"],
                                      "requests": run.sandbox_requests + int(stats["counters"].get("requests", 0))}  # fmt: skip
            with dep.thredfi_client() as client:
                summary["check"] = verification.check_exactly_once(client, source.expected(dep.dsn("source")))
        summary["ok"] = verification.succeeded(summary, kill_worker=args.kill_worker,
                                               sandbox_outage=args.sandbox_outage, days=args.days)  # fmt: skip
    except KeyboardInterrupt:
        say("interrupted: stopping everything")
        summary["error"] = "interrupted"
    except Exception as exc:
        say(f"FAILED: {type(exc).__name__}: {exc}")
        summary["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        summary["events"] = run.events
        summary["durations"] = timings
        summary["state_dir"] = str(state)
        summary["ui"] = f"{dep.api_url}/"
        keep = args.keep and "error" not in summary
        if not keep:
            # A second Ctrl-C must not cut the cleanup short; every step of it is bounded.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            with step(timings, "shutdown"):
                run.airflow.close()
                sup.stop_all()
                drop_shm(dep.sandbox_db)
                if summary["ok"] and not sup.running("postgres"):  # a stopped cluster is of no further use
                    shutil.rmtree(dep.pg_data, ignore_errors=True)
        summary["wall_seconds"] = round(elapsed(), 1)
        verification.write_summary(summary, summary_path)
        here = Path(__file__).resolve()
        driver = here.relative_to(ROOT) if here.is_relative_to(ROOT) else here
        verification.print_summary(summary, summary_path, keep, stop_command=f"{sys.executable} {driver}")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
