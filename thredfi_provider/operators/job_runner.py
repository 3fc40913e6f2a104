"""Records in flight: a job per record, how it ended, and the bounded pool that sends them.

Jobs are sent concurrently over a bounded thread pool that shares the hook's one session and
token cache. Each record ends in exactly one state:

- ``created``: Thredfi did not hold it; now it does;
- ``updated``: Thredfi held an older version; the change was applied (PUT/PATCH, an archive);
- ``unchanged``: Thredfi already holds exactly this;
- ``voided``: the source cancelled it and Thredfi voided it;
- ``removed``: mirror mode: it left the source snapshot and Thredfi voided or archived it;
- ``unverified``: Thredfi holds it, but a field the source sends is one Thredfi's read does not
  return (a payment's amount in the published list shape), so it cannot be proven equal; never
  called unchanged (with ``state_path``, the stored checksum proves it instead);
- ``conflicts``: the source changed something Thredfi cannot change (no published endpoint,
  or a state that forbids it): reported with the field and the reason, never silently kept;
- ``failed``: refused or not reachable, with the error.

:mod:`.task_policy` turns the tally into a task state.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from thredfi_provider.client.compare import Differences
    from thredfi_provider.client.errors import ThredfiError
    from thredfi_provider.operators.business_lookups import Record
    from thredfi_provider.operators.summary import BatchSummary

log = logging.getLogger(__name__)

IN_FLIGHT_PER_WORKER = 4  # jobs submitted ahead of the workers: enough to keep them busy
State = Literal["created", "updated", "unchanged", "voided", "removed", "unverified", "conflict"]


@dataclass(frozen=True)
class Outcome:
    """How one record ended; a conflict names its field and why it cannot change."""

    state: State
    record_id: str | None = None
    changed: tuple[str, ...] = ()
    field: str | None = None
    reason: str | None = None
    held: Any = None
    sent: Any = None


@dataclass(frozen=True)
class Job:
    """One record ready to sync: its label, business and the call that makes Thredfi match it.

    ``fingerprint`` is the source record's field digests when a sync state is kept: how it ends
    is written back with them (:mod:`.sync_state`).
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


def conflict(held: Record, diff: Differences, reason: str) -> Outcome:
    """A conflict on the first changed field, naming every changed field in the reason; Thredfi's
    value is ``None`` where its read does not return the field."""
    from thredfi_provider.client.compare import is_unknown

    name, (theirs, ours) = next(iter(diff.items()))
    theirs = None if is_unknown(theirs) else theirs
    others = [f for f in diff if f != name]
    if others:
        reason += f" (also changed: {', '.join(others)})"
    return Outcome("conflict", str(held.get("id")), field=name, reason=reason, held=theirs, sent=ours)


def updated(held: Record, diff: Differences) -> Outcome:
    return Outcome("updated", str(held.get("id")), changed=tuple(diff))
