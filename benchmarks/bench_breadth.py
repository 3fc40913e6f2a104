"""One task, one invoice into each of N businesses, in a real Airflow: the old masking and the new.

Before, every token the client minted (one per business) was handed to Airflow's secrets masker,
which rebuilds one regular expression over every secret it holds on each addition, in the task
process and again in its supervisor: a task over N businesses cost N squared. Now the masker holds
the key and its Basic form only, and tokens are kept out of logs by the client itself
(docs/security.md). This runs both in one ``airflow standalone`` (scheduler, LocalExecutor,
supervisor) against one sandbox process, interleaved, so the noise of the machine falls on both:

- ``old``: the same task with every token masked, as before (``conf["mask_tokens"]``);
- ``new``: the provider as it is, no state;
- ``state``: with ``state_path``, the second day (day one remembered the businesses' currency,
  customer ids and accounts).

Per business it prints the task's and its supervisor's CPU time and the requests Thredfi saw.
Targets: CPU per business at the largest N within 1.5x of that at 50 (new); requests at most 5 per
business without state, 3 with.

    python benchmarks/bench_breadth.py [--sizes 50 200 1000] [--old-sizes 50 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness import API_KEY, PARTNER_ID, client_for, key_figures, onboard, sandbox, table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.real_airflow import standalone  # noqa: E402 - after the path

DAG = ROOT / "tests" / "helpers" / "breadth_dag.py"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--old-sizes", type=int, nargs="+", default=[50, 200],
                        help="the old masking is quadratic: 1,000 takes minutes")  # fmt: skip
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="thredfi-breadth-"))
    with sandbox() as box:
        client = client_for(box)
        with ThreadPoolExecutor(8) as pool:
            businesses = list(pool.map(lambda i: onboard(client, f"breadth-{i}"), range(max(args.sizes))))
        connection = {"conn_type": "thredfi", "login": PARTNER_ID, "password": API_KEY, "host": box.base_url}
        env = {"AIRFLOW_CONN_THREDFI_DEFAULT": json.dumps(connection)}
        results = tmp / "results.jsonl"
        rows: dict[tuple[str, int], dict[str, Any]] = {}
        with standalone(tmp, {"thredfi_breadth.py": DAG.read_text()}, env) as airflow:

            def run(label: str, n: int, **conf: Any) -> dict[str, Any]:
                listing = tmp / f"businesses-{n}.json"
                listing.write_text(json.dumps(businesses[:n]))
                before = box.stats()["counters"].get("requests", 0)
                run_id = f"{label}-{n}"
                airflow.trigger("thredfi_breadth", run_id, {"businesses": str(listing), "day": run_id,
                                                            "results": str(results), "label": label, **conf})  # fmt: skip
                state = airflow.wait_run("thredfi_breadth", run_id, timeout=3600)
                if state != "success":
                    raise RuntimeError(f"{run_id} ended {state}; see {airflow.home}/logs")
                figures: dict[str, Any] = json.loads(results.read_text().splitlines()[-1])
                figures["requests"] = box.stats()["counters"].get("requests", 0) - before
                print(f"  {run_id}: {figures['wall']:.1f}s wall, {figures['requests']} requests", flush=True)
                return figures

            for n in args.sizes:
                rows["new", n] = run("new", n)
                if n in args.old_sizes:
                    rows["old", n] = run("old", n, mask_tokens=True)
                state_path = str(tmp / "state")
                run("day1", n, state_path=state_path)
                rows["state", n] = run("state", n, state_path=state_path)

    def per(n: int, mode: str, key: str) -> float:
        return float(rows[mode, n][key]) / n

    body = []
    for (mode, n), r in sorted(rows.items(), key=lambda item: (item[0][1], item[0][0])):
        cpu = r["cpu"] + r["supervisor_cpu"]
        body.append([mode, n, r["wall"], r["cpu"], r["supervisor_cpu"], cpu / n * 1000, r["requests"] / n])
    table("one task, one invoice into each of N businesses (real Airflow, LocalExecutor)",
          ["mode", "N", "task wall s", "task CPU s", "supervisor CPU s", "CPU ms/business", "requests/business"],
          body)  # fmt: skip
    small, large = min(args.sizes), max(args.sizes)

    def cpu_per(mode: str, n: int) -> float:
        return (rows[mode, n]["cpu"] + rows[mode, n]["supervisor_cpu"]) / n

    growth = cpu_per("new", large) / cpu_per("new", small)
    old_large = max(args.old_sizes)
    speedup = (
        (rows["old", old_large]["wall"] / rows["new", old_large]["wall"])
        if ("old", old_large) in rows
        else 0.0
    )
    print(f"\nCPU per business, new, {large} vs {small}: {growth:.2f}x (target <= 1.5x)")
    print(f"task wall at {old_large}, old / new: {speedup:.1f}x")
    key_figures(
        "bench_breadth",
        cpu_per_business_growth=growth,
        old_over_new_wall=speedup,
        requests_per_business_no_state=max(per(n, "new", "requests") for n in args.sizes),
        requests_per_business_state=max(per(n, "state", "requests") for n in args.sizes),
    )


if __name__ == "__main__":
    main()
