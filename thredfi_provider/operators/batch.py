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

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from thredfi_provider.compat import AirflowException, AirflowFailException

if TYPE_CHECKING:
    from thredfi_provider.client import ThredfiError
    from thredfi_provider.compat import Context

log = logging.getLogger(__name__)

RecordsSource = Sequence[Mapping[str, Any]] | Callable[..., Iterable[Mapping[str, Any]]] | str | None
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


@dataclass
class BatchSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    voided: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)

    def fail(self, label: str, error: ThredfiError, business_id: str | None = None) -> None:
        entry: dict[str, Any] = {"external_id": label, "error": str(error), "retryable": error.retryable}
        if business_id:
            entry["business_id"] = business_id
        if getattr(error, "field", None):
            entry["field"] = error.field  # type: ignore[attr-defined]
        elif error.details:
            entry["field"] = next(iter(error.details))  # the server's first field error
        if error.status is not None:
            entry["status"] = error.status
        self.failed.append(entry)

    def record(self, label: str, business_id: str, outcome: Outcome) -> None:
        if outcome.record_id:
            self.ids[label] = outcome.record_id
        if outcome.state == "conflict":
            entry: dict[str, Any] = {"external_id": label, "field": outcome.field, "reason": outcome.reason}
            if business_id:
                entry["business_id"] = business_id
            if outcome.held is not None or outcome.sent is not None:
                entry["thredfi"], entry["source"] = _jsonable(outcome.held), _jsonable(outcome.sent)
            self.conflicts.append(entry)
            return
        setattr(self, outcome.state, getattr(self, outcome.state) + 1)
        if outcome.state == "updated" and outcome.changed:
            log.info("Thredfi record %r updated: %s", label, ", ".join(outcome.changed))

    @property
    def total(self) -> int:
        return (
            self.created
            + self.updated
            + self.unchanged
            + self.voided
            + len(self.conflicts)
            + len(self.failed)
        )

    def to_xcom(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "voided": self.voided,
            "conflicts": self.conflicts,
            "failed": self.failed,
            "ids": self.ids,
        }


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


class ThredfiBatchError(AirflowException):
    """Some records failed for reasons that may pass (after the client's retries): retry the task."""


def load_records(source: RecordsSource, context: Context) -> list[Mapping[str, Any]]:
    """Accept a list, a rendered XCom/JSON string, or a callable (optionally taking the context)."""
    if source is None:
        return []
    if callable(source):
        # Decide from the signature, never by catching TypeError: that would run a callable a
        # second time when its own body raises TypeError.
        return list(call_with_context(source, context))
    if isinstance(source, str):
        parsed = json.loads(source) if source.strip() else []
        return list(parsed if isinstance(parsed, list) else [parsed])
    if isinstance(source, Mapping):
        return [source]
    return list(source)


def call_with_context(func: Callable[..., Any], context: Context) -> Any:
    """Call a records callable with what its signature asks for, as Airflow's callables are.

    Parameters named like context keys (``ds``, ``ti``, ``data_interval_start`` ...) get those
    values, ``**kwargs`` gets the whole context, and one other required positional parameter
    (``def rows(context)``) gets the context itself. Decided from the signature, never by
    catching ``TypeError``, which would run the callable twice when its own body raises it.
    """
    import inspect

    parameters = inspect.signature(func).parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        kwargs = dict(context)
    else:
        kwargs = {name: context[name] for name in parameters if name in context}  # type: ignore[literal-required]
    missing = [
        p
        for p in parameters.values()
        if p.name not in kwargs
        and p.default is p.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(missing) > 1:
        raise TypeError(
            f"records callable {getattr(func, '__name__', func)!r} needs {[p.name for p in missing]}; "
            "give it one context parameter, or parameters named like context keys"
        )
    if missing and missing[0].kind is missing[0].POSITIONAL_ONLY:
        return func(context, **kwargs)
    if missing:
        kwargs[missing[0].name] = context
    return func(**kwargs)


def run_jobs(jobs: Sequence[Job], summary: BatchSummary, max_workers: int) -> BatchSummary:
    from thredfi_provider.client.errors import ThredfiError

    def run(job: Job) -> tuple[Job, Outcome | ThredfiError]:
        try:
            return job, job.send()
        except ThredfiError as exc:
            return job, exc

    workers = max(1, min(max_workers, len(jobs)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="thredfi") as pool:
        for job, outcome in pool.map(run, jobs):
            if isinstance(outcome, ThredfiError):
                summary.fail(job.label, outcome, job.business_id)
            else:
                summary.record(job.label, job.business_id, outcome)
    return summary


def enforce_policy(
    summary: BatchSummary,
    *,
    fail_on_error: bool,
    max_failures: int | None,
    on_conflict: str,
    what: str,
) -> None:
    """Log the summary once, then decide the task state.

    Transient failures win (a task retry may clear them), then permanent failures, then
    conflicts: ``on_conflict="fail"`` fails the task once everything else has landed, ``"warn"``
    logs each conflict and succeeds.
    """
    failed, conflicts = summary.failed, summary.conflicts
    counts = (
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.voided,
        len(conflicts),
        len(failed),
    )
    log.info(
        "Thredfi %s: %d created, %d updated, %d unchanged, %d voided, %d conflicts, %d failed", what, *counts
    )
    for entry in failed[:50]:
        log.warning("Thredfi %s %r failed: %s", what, entry["external_id"], entry["error"])
    for entry in conflicts[:50]:
        log.warning(
            "Thredfi %s %r in conflict on %s: %s", what, entry["external_id"], entry["field"], entry["reason"]
        )
    allowed = max_failures if max_failures is not None else (0 if fail_on_error else len(failed))
    if len(failed) > allowed:
        reason = f"{len(failed)} of {summary.total} {what} failed (allowed: {allowed})"
        if any(entry["retryable"] for entry in failed):
            raise ThredfiBatchError(reason + "; transient faults remain, retrying the task is safe")
        raise AirflowFailException(reason + "; first: " + failed[0]["error"])
    if conflicts and on_conflict == "fail":
        first = conflicts[0]
        raise AirflowFailException(
            f"{len(conflicts)} of {summary.total} {what} changed in the source in ways Thredfi cannot "
            f"apply (on_conflict='fail'); first: {first['external_id']!r} {first['field']}: {first['reason']}"
        )
