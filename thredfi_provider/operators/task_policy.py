"""The task state a batch ends in: its summary logged once, then the policy decided.

Transient failures left after the client's own retries raise a retryable error, so Airflow's
task retry reruns the batch, which the idempotency keys make safe; permanent failures and
conflicts fail the task without retries, after everything else has landed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from thredfi_provider.compat import AirflowException, AirflowFailException

if TYPE_CHECKING:
    from thredfi_provider.operators.summary import BatchSummary

log = logging.getLogger(__name__)


class ThredfiBatchError(AirflowException):
    """Some records failed for reasons that may pass (after the client's retries): retry the task."""


def enforce_policy(
    summary: BatchSummary,
    *,
    fail_on_error: bool,
    max_failures: int | None,
    on_conflict: str,
    what: str,
    details: str | None = None,
    scope: str | None = None,
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
        "Thredfi %s: %d created, %d updated, %d unchanged, %d voided, %d conflicts, %d failed%s%s",
        what, *counts, f"; {scope}" if scope else "",
        f"; every record's outcome is in {details}" if details else "",
    )  # fmt: skip
    for entry in failed[:50]:
        log.warning("Thredfi %s %r failed: %s", what, entry["external_id"], entry["error"])
    for entry in conflicts[:50]:
        log.warning(
            "Thredfi %s %r in conflict on %s: %s", what, entry["external_id"], entry["field"], entry["reason"]
        )
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
