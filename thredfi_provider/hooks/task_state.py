"""Errors to task states, decided in one place for every operator and the sensor.

One rule: a permanent error fails the task without retries (retrying only delays the message by
the retries' backoff, and each retry fails the same way); a transient one, left after the
client's own retries, raises a retryable error so Airflow's task retry runs again, which the
idempotency keys make safe.

- :func:`task_state_from_errors`: one call (a read, a connection, a sensor's poke);
- :func:`enforce_policy`: a batch's tally, logged once; permanent failures and conflicts fail
  the task after everything else has landed.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, Protocol

from thredfi_provider.compat import AirflowException, AirflowFailException

log = logging.getLogger(__name__)


class ThredfiBatchError(AirflowException):
    """Some records failed for reasons that may pass (after the client's retries): retry the task."""


@contextmanager
def task_state_from_errors(transient: Literal["retry", "fail"] = "retry") -> Generator[None]:
    """Permanent errors fail the task without retries; transient ones keep Airflow's retries.

    Permanent: a 4xx, a record refused before sending, a malformed connection, a connection that
    does not exist. A sensor passes ``transient="fail"``: its own poke interval is its retry.
    """
    from thredfi_provider.client.errors import ThredfiError
    from thredfi_provider.compat import AirflowNotFoundException
    from thredfi_provider.hooks.connection import ThredfiConnectionConfigError

    try:
        yield
    except ThredfiError as exc:
        if exc.retryable and transient == "retry":
            raise
        raise AirflowFailException(str(exc)) from exc
    except ThredfiConnectionConfigError as exc:
        raise AirflowFailException(str(exc)) from exc
    except AirflowNotFoundException as exc:
        raise AirflowFailException(f"{exc} (create it, then clear the task; a retry cannot find it)") from exc


class Tally(Protocol):
    """What :func:`enforce_policy` reads of a batch summary (the operators' ``BatchSummary``)."""

    @property
    def created(self) -> int: ...

    @property
    def updated(self) -> int: ...

    @property
    def unchanged(self) -> int: ...

    @property
    def voided(self) -> int: ...

    @property
    def failed_count(self) -> int: ...

    @property
    def conflict_count(self) -> int: ...

    @property
    def retryable_failures(self) -> int: ...

    @property
    def failed(self) -> Sequence[dict[str, Any]]: ...

    @property
    def conflicts(self) -> Sequence[dict[str, Any]]: ...

    @property
    def total(self) -> int: ...


def enforce_policy(
    summary: Tally,
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
