"""Records in flight: a job per record and the bounded pool that sends them.

Jobs are sent concurrently over a bounded thread pool that shares the hook's one session and
token cache. Each job ends in one :class:`~.record_outcome.Outcome` or the client's error,
recorded in the batch summary in submission order.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from thredfi_provider.client.errors import ThredfiError
    from thredfi_provider.operators._sync.batch_summary import BatchSummary
    from thredfi_provider.operators._sync.record_outcome import Outcome

log = logging.getLogger(__name__)

IN_FLIGHT_PER_WORKER = 4  # jobs submitted ahead of the workers: enough to keep them busy


@dataclass(frozen=True)
class Job:
    """One record ready to sync: its label, business and the call that makes Thredfi match it.

    ``fingerprint`` is the source record's field digests when a sync state is kept: how it ends
    is written back with them (:mod:`.state`).
    """

    label: str
    business_id: str
    send: Callable[[], Outcome]
    fingerprint: dict[str, str] | None = None


Done = Callable[[Job, "Outcome | ThredfiError"], None]


def run_jobs(
    jobs: Iterable[Job],
    summary: BatchSummary,
    max_workers: int,
    *,
    in_flight: int | None = None,
    on_done: Done | None = None,
) -> BatchSummary:
    """Send ``jobs`` over ``max_workers`` threads, at most ``in_flight`` at a time, in order.

    Jobs are pulled from the iterable only as room frees up, so a generator that validates and
    renders records as it goes keeps memory at O(in_flight), never O(records). Results are
    recorded in submission order, on this thread (the summary is not shared with the pool).
    """
    from thredfi_provider.client.errors import ThredfiError

    def run(job: Job) -> Outcome | ThredfiError:
        try:
            return job.send()
        except ThredfiError as exc:
            return exc

    limit = max(1, in_flight if in_flight is not None else IN_FLIGHT_PER_WORKER * max_workers)
    pending: deque[tuple[Job, Future[Outcome | ThredfiError]]] = deque()

    def settle_oldest() -> None:
        job, future = pending.popleft()
        outcome = future.result()  # each send is bounded by the client's deadlines
        if isinstance(outcome, ThredfiError):
            summary.fail(job.label, outcome, job.business_id)
        else:
            summary.record(job.label, job.business_id, outcome)
        if on_done is not None:
            on_done(job, outcome)

    pool = ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="thredfi")
    try:
        for job in jobs:
            if len(pending) >= limit:
                settle_oldest()
            pending.append((job, pool.submit(run, job)))
        while pending:
            settle_oldest()
    except BaseException:
        # The task is failing (a bug, a timeout, SIGTERM): send nothing more. Requests already on
        # the wire finish in the background, bounded by the client's deadlines; a retry of the
        # task finds what they made.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return summary
