"""1,000 sensors on 1,000 businesses in a real ``airflow triggerer`` for 10 minutes, tokens renewed all the time.

A triggerer never ends. Every poll of a sensor on another business needs that business's token,
and the sandbox here issues tokens for 5 seconds (``--token-lifetime 5``) while each trigger polls
every 30: every poll renews its token, so ten minutes are 20,000 renewals, a few weeks of hourly
ones. When each token was handed to Airflow's masker, the masker only grew and every addition cost
more. Now it holds the key and its Basic form, and nothing else grows either.

The triggerer is Airflow's own (``airflow triggerer``: its supervisor, and the runner process
whose event loop runs the triggers). Its triggers are rows in a fresh metadata database: 1,000
``ThredfiResourceTrigger`` (each waiting for its business's invoice to be paid, which it never is)
and one ``LoopProbeTrigger`` (``soak_probe.py``) that records how late the loop wakes it. Each is
attached to an asset, the way event-driven DAGs attach watchers, so no scheduler or worker is
needed to create 1,000 deferred tasks first.

Once every trigger has polled once, it compares the first minute with the last: the loop's stall
p99, the runner's CPU per poll, and its RSS (target: within 20%). Then it searches every file the
triggerer wrote for every token the sandbox issued.

    python benchmarks/bench_triggerer_soak.py [--sensors 1000] [--minutes 10] [--poll 30]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
from harness import API_KEY, PARTNER_ID, client_for, key_figures, onboard, sandbox, table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.helpers.real_airflow import secrets_in  # noqa: E402 - after the path

TARGET = 0.20


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def seed(box: Any, n: int) -> list[tuple[str, str]]:
    """n businesses, each with one open invoice: (business id, invoice id)."""
    client = client_for(box)

    def one(i: int) -> tuple[str, str]:
        business_id = onboard(client, f"soak-{i}")
        invoice = client.create(business_id, "invoices", {
            "external_id": f"soak-{i}", "customer_external_id": "cust-0", "sent_at": "2024-03-01",
            "due_at": "2024-03-31",
            "line_items": [{"description": "Work", "quantity": 1, "unit_price_cents": 1000, "account_code": "4000"}],
        }).record  # fmt: skip
        return business_id, str(invoice["id"])

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(n)))


def add_triggers(pairs: list[tuple[str, str]], poll: float, probe_path: Path) -> None:
    """The trigger rows, each attached to one asset: what a triggerer is given to run."""
    from airflow.models.asset import AssetModel, AssetWatcherModel
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from soak_probe import LoopProbeTrigger

    from thredfi_provider.triggers.resource import ThredfiResourceTrigger

    with create_session() as session:
        asset = AssetModel(name="thredfi_soak", uri="thredfi://soak/invoices", group="asset")
        session.add(asset)
        triggers = [Trigger.from_object(LoopProbeTrigger(str(probe_path)))]
        for business_id, invoice_id in pairs:
            query = {"resource": "invoice", "business_id": business_id, "resource_id": invoice_id,
                     "external_id": None, "filters": {}, "condition": {"status": ["paid"]}, "min_count": 1}  # fmt: skip
            triggers.append(Trigger.from_object(
                ThredfiResourceTrigger(thredfi_conn_id="thredfi_default", query=query, poll_interval=poll)
            ))  # fmt: skip
        session.add_all(triggers)
        session.flush()
        session.add_all(
            AssetWatcherModel(name=f"watcher-{n}", asset_id=asset.id, trigger_id=trigger.id)
            for n, trigger in enumerate(triggers)
        )


def sample(box: Any, runner: psutil.Process, supervisor: psutil.Process) -> dict[str, float]:
    counters = box.stats()["counters"]
    return {
        "at": time.time(),
        "polls": float(
            counters.get("requests", 0) - counters.get("business_token", 0) - counters.get("partner_token", 0)
        ),
        "tokens": float(counters.get("business_token", 0)),
        "runner_cpu": sum(runner.cpu_times()[:2]),
        "supervisor_cpu": sum(supervisor.cpu_times()[:2]),
        "rss_mb": runner.memory_info().rss / 2**20,
    }


def window(
    samples: list[dict[str, float]], late: list[tuple[float, list[float]]], start: float, end: float
) -> dict[str, float]:
    inside = [s for s in samples if start <= s["at"] <= end]
    first, last = inside[0], inside[-1]
    polls = last["polls"] - first["polls"]
    stalls = [ms for at, values in late if start < at <= end for ms in values]
    return {
        "polls": polls,
        "tokens": last["tokens"] - first["tokens"],
        "cpu_ms_per_poll": (last["runner_cpu"] - first["runner_cpu"]) / max(polls, 1) * 1000,
        "supervisor_cpu_ms_per_poll": (last["supervisor_cpu"] - first["supervisor_cpu"])
        / max(polls, 1)
        * 1000,
        "stall_p50_ms": percentile(stalls, 0.50),
        "stall_p99_ms": percentile(stalls, 0.99),
        "stall_max_ms": max(stalls, default=0.0),
        "rss_mb": statistics.mean(s["rss_mb"] for s in inside),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sensors", type=int, default=1000)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--poll", type=float, default=30.0)
    args = parser.parse_args()
    home = Path(os.environ["AIRFLOW_HOME"])  # harness made a fresh one
    probe_path = home / "loop_probe.jsonl"
    with sandbox("--token-lifetime", "5") as box:
        pairs = seed(box, args.sensors)
        env = {
            **os.environ,
            "AIRFLOW_CONN_THREDFI_DEFAULT": json.dumps(
                {"conn_type": "thredfi", "login": PARTNER_ID, "password": API_KEY, "host": box.base_url}
            ),
            "AIRFLOW__TRIGGERER__CAPACITY": str(args.sensors + 10),
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
        }
        airflow = str(Path(sys.executable).with_name("airflow"))
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
        sys.path.insert(0, str(HERE))
        add_triggers(pairs, args.poll, probe_path)
        minted_before = box.stats()["counters"].get("business_token", 0)  # seeding minted some
        output = home / "triggerer.out"
        with output.open("w") as sink:
            process = subprocess.Popen([airflow, "triggerer"], env=env, stdout=sink, stderr=subprocess.STDOUT,
                                       start_new_session=True)  # fmt: skip
        try:
            supervisor = psutil.Process(process.pid)
            deadline = time.time() + 300
            while not supervisor.children() and time.time() < deadline:
                time.sleep(0.5)
            # Warm: every trigger has polled (and minted its first token) once.
            while box.stats()["counters"].get("business_token", 0) < minted_before + args.sensors:
                if time.time() > deadline:
                    raise RuntimeError(f"the triggers did not all poll within 5 minutes; see {output}")
                time.sleep(1)
            # The runner: the child whose event loop has been doing the work (not the log server).
            runner = max(supervisor.children(recursive=True), key=lambda p: sum(p.cpu_times()[:2]))
            start = time.time()
            samples = [sample(box, runner, supervisor)]
            print(f"all {args.sensors} triggers polling; soaking {args.minutes} min", flush=True)
            while time.time() < start + args.minutes * 60:
                time.sleep(5)
                samples.append(sample(box, runner, supervisor))
            late = [
                (row["at"], row["late_ms"]) for row in map(json.loads, probe_path.read_text().splitlines())
            ]
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        issued = box.control("GET", "tokens/issued")["tokens"]

    minutes = [window(samples, late, start + 60 * m, start + 60 * (m + 1)) for m in range(args.minutes)]
    table(f"{args.sensors} sensors, tokens of 5 s, polls every {args.poll:.0f} s, real triggerer, per minute",
          ["minute", "polls", "token renewals", "runner CPU ms/poll", "supervisor CPU ms/poll", "stall p50 ms",
           "stall p99 ms", "stall max ms", "runner RSS MB"],
          [[m + 1, w["polls"], w["tokens"], w["cpu_ms_per_poll"], w["supervisor_cpu_ms_per_poll"], w["stall_p50_ms"],
            w["stall_p99_ms"], w["stall_max_ms"], w["rss_mb"]] for m, w in enumerate(minutes)])  # fmt: skip
    first, final = minutes[0], minutes[-1]
    ratios = {key: final[key] / first[key] if first[key] else float("inf")
              for key in ("stall_p99_ms", "cpu_ms_per_poll", "rss_mb")}  # fmt: skip
    for key, ratio in ratios.items():
        verdict = "ok" if abs(ratio - 1) <= TARGET else "OUTSIDE 20%"
        print(f"last minute / first, {key}: {ratio:.2f} ({verdict})")
    wanted = {*issued, *(token.rsplit(".", 1)[-1] for token in issued), API_KEY}
    found_in: set[str] = set()
    for path in home.rglob("*"):
        if path.is_file() and path.suffix not in {".db", ".pyc"}:
            found_in |= secrets_in(path.read_text(errors="replace"), wanted)
    found = len(found_in)
    print(f"tokens issued: {len(issued)}; found in the triggerer's logs and files: {found}")
    key_figures(
        "bench_triggerer_soak",
        stall_p99_ratio=ratios["stall_p99_ms"],
        cpu_per_poll_ratio=ratios["cpu_ms_per_poll"],
        rss_ratio=ratios["rss_mb"],
        token_renewals=sum(w["tokens"] for w in minutes),
        tokens_found_in_logs=found,
    )


if __name__ == "__main__":
    main()
