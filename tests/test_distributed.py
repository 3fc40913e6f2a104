"""The provider on a real distributed Airflow: CeleryExecutor, PostgreSQL, Redis, two workers.

Runs ``scripts/distributed.py --small`` (what ``make demo-distributed`` runs, on 8 businesses over
4 days): a mapped bulk sync during which one worker is SIGKILLed and restarted and the sandbox
is down for 10 seconds, then a backfill of a scheduled daily sync while its scheduled runs go
on. The script's JSON summary must show both faults happened mid-run and every invoice and
payment reached Thredfi exactly once (``scripts/deployment/verification.py`` counts that; the
count itself is tested on made-up data, without services, in ``test_distributed_verification.py``).

Minutes long and needs root (or PostgreSQL and Redis installed): excluded from ``make test``
(marked ``slow`` too); run it with ``make test-distributed``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


@pytest.mark.timeout(1800)
def test_small_distributed_run_syncs_everything_exactly_once(tmp_path):
    have_services = shutil.which("redis-server") and list(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if os.geteuid() != 0 and not have_services:
        pytest.skip("needs root (to apt-get install redis-server/postgresql) or both installed")
    summary_path = tmp_path / "summary.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "distributed.py"), "--small", "--summary", str(summary_path)],
        capture_output=True, text=True, timeout=1700, cwd=ROOT,
    )  # fmt: skip
    output = result.stdout[-6000:] + result.stderr[-3000:]
    assert summary_path.exists(), output
    summary = json.loads(summary_path.read_text())
    assert "error" not in summary, output

    check = summary["check"]
    for kind in ("invoices", "payments"):
        counts = check[kind]
        assert counts["expected"] > 0, counts
        assert counts["found"] == counts["expected"], (kind, counts)
        assert counts["duplicates"] == 0, (kind, counts)
        assert counts["missing"] == 0, (kind, counts)
        assert counts["unexpected"] == 0, (kind, counts)
        assert counts["amount_mismatches"] == 0, (kind, counts)
    assert check["exact"] is True

    # Both faults happened while tasks ran, and the run recovered from them.
    events = [e["event"] for e in summary["events"]]
    for event in ("worker_killed", "worker_restarted", "sandbox_stopped", "sandbox_restarted"):
        assert event in events, events
    killed = next(e for e in summary["events"] if e["event"] == "worker_killed")
    assert killed["interrupted"], killed
    assert summary["bulk"]["state"] == "success"
    for ti in summary["bulk"].get("killed_task_instances", []) or summary["daily"].get(
        "killed_task_instances", []
    ):
        assert ti["final"]["state"] == "success", ti
        assert ti["final"]["try"] > ti["killed_try"], ti

    # The backfill and the scheduled runs all succeeded, on both workers.
    daily = summary["daily"]
    assert daily["runs"], daily
    assert all(key.endswith(":success") for key in daily["runs"]), daily["runs"]
    assert any(key.startswith("backfill:") for key in daily["runs"]), daily["runs"]
    assert any(key.startswith("scheduled:") for key in daily["runs"]), daily["runs"]
    assert set(summary["bulk"]["successes_per_worker"]) == {"worker-1", "worker-2"}
    assert summary["ok"] is True, output
    assert result.returncode == 0, output
