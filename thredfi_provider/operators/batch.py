"""The batch engine behind every sync operator: validate, fan out, summarise, decide.

Records are validated first (no network), then sent concurrently over a bounded thread pool
that shares the hook's one session and token cache. Each record ends in exactly one state:

- ``created``: Thredfi did not hold it; now it does;
- ``updated``: Thredfi held an older version; the change was applied (PUT/PATCH, an archive);
- ``unchanged``: Thredfi already holds exactly this;
- ``voided``: the source cancelled it and Thredfi voided it;
- ``conflicts``: the source changed something Thredfi cannot change (no published endpoint,
  or a state that forbids it): reported with the field and the reason, never silently kept;
- ``failed``: refused or not reachable, with the error.

The policy (``fail_on_error``, ``max_failures``, ``on_conflict``) turns that into a task state.
Transient failures left after the client's own retries raise a retryable error, so Airflow's
task retry reruns the batch, which the idempotency keys make safe.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from thredfi_provider.compat import AirflowException, AirflowFailException

if TYPE_CHECKING:
    from thredfi_provider.client import ThredfiError
    from thredfi_provider.operators.summary import BatchSummary

log = logging.getLogger(__name__)

IN_FLIGHT_PER_WORKER = 4  # jobs submitted ahead of the workers: enough to keep them busy
State = Literal["created", "updated", "unchanged", "voided", "conflict"]
STATES: tuple[State, ...] = ("created", "updated", "unchanged", "voided")


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
    """One record ready to sync: its label, business and the call that makes Thredfi match it."""

    label: str
    business_id: str
    send: Callable[[], Outcome]


class ThredfiBatchError(AirflowException):
    """Some records failed for reasons that may pass (after the client's retries): retry the task."""


def run_jobs(
    jobs: Iterable[Job], summary: BatchSummary, max_workers: int, *, in_flight: int | None = None
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


def enforce_policy(
    summary: BatchSummary,
    *,
    fail_on_error: bool,
    max_failures: int | None,
    on_conflict: str,
    what: str,
    details: str | None = None,
) -> None:
    """Log the summary once, then decide the task state.

    Transient failures win (a task retry may clear them), then permanent failures, then
    conflicts: ``on_conflict="fail"`` fails the task once everything else has landed, ``"warn"``
    logs each conflict and succeeds.
    """
    failed, conflicts = summary.failed, summary.conflicts
    n_failed, n_conflicts = summary.failed_count, summary.conflict_count
    counts = (summary.created, summary.updated, summary.unchanged, summary.voided, n_conflicts, n_failed)
    log.info(
        "Thredfi %s: %d created, %d updated, %d unchanged, %d voided, %d conflicts, %d failed", what, *counts
    )
    for entry in failed[:50]:
        log.warning("Thredfi %s %r failed: %s", what, entry["external_id"], entry["error"])
    for entry in conflicts[:50]:
        log.warning(
            "Thredfi %s %r in conflict on %s: %s", what, entry["external_id"], entry["field"], entry["reason"]
        )
    if details:
        log.info("Thredfi %s: every record's outcome is in %s", what, details)
    report = f" (every record's outcome: {details})" if details else ""
    allowed = max_failures if max_failures is not None else (0 if fail_on_error else n_failed)
    if n_failed > allowed:
        reason = f"{n_failed} of {summary.total} {what} failed (allowed: {allowed})"
        if summary.retryable_failures:
            raise ThredfiBatchError(reason + "; transient faults remain, retrying the task is safe" + report)
        raise AirflowFailException(reason + "; first: " + failed[0]["error"] + report)
    if n_conflicts and on_conflict == "fail":
        first = conflicts[0]
        raise AirflowFailException(
            f"{n_conflicts} of {summary.total} {what} changed in the source in ways Thredfi cannot "
            f"apply (on_conflict='fail'); first: {first['external_id']!r} {first['field']}: {first['reason']}"
            + report
        )
