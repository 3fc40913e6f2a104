"""The batch runner (``operators/_sync/batch_runner.py``): a bounded window of jobs in flight."""

from __future__ import annotations

import threading
import time

import pytest

from thredfi_provider.operators._sync.batch_runner import Job, run_jobs
from thredfi_provider.operators._sync.batch_summary import BatchSummary
from thredfi_provider.operators._sync.record_outcome import Outcome


def test_run_jobs_pulls_jobs_only_as_room_frees_up():
    finished: list[int] = []
    ahead: list[int] = []
    lock = threading.Lock()

    def send(n: int) -> Outcome:
        with lock:
            finished.append(n)
        return Outcome("created", f"id-{n}")

    def jobs():
        for n in range(200):
            with lock:
                ahead.append(n - len(finished))
            yield Job(f"r{n}", "biz", lambda n=n: send(n))

    summary = run_jobs(jobs(), BatchSummary(), max_workers=3, in_flight=6)
    assert summary.created == 200
    assert list(summary.ids) == [f"r{n}" for n in range(200)]
    assert max(ahead) <= 6, max(ahead)


def test_an_error_while_building_jobs_sends_nothing_more():
    sent: list[int] = []
    lock = threading.Lock()

    def send(n: int) -> Outcome:
        time.sleep(0.05)
        with lock:
            sent.append(n)
        return Outcome("created", f"id-{n}")

    def jobs():
        for n in range(20):
            yield Job(f"r{n}", "biz", lambda n=n: send(n))
        raise RuntimeError("a bug while rendering record 20")

    with pytest.raises(RuntimeError, match="record 20"):
        run_jobs(jobs(), BatchSummary(), max_workers=2, in_flight=8)
    time.sleep(0.3)  # what was on the wire finishes
    assert len(sent) < 20, len(sent)  # the queued jobs were cancelled, not sent
