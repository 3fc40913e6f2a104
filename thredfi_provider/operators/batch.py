"""The batch engine behind every sync operator: validate, fan out, summarise, decide.

Records are validated first (no network), then sent concurrently over a bounded thread pool
that shares the hook's one session and token cache. Each record ends as created, existing
(Thredfi answered 200 for a known ``external_id`` or replayed an ``Idempotency-Key``) or
failed with a reason; the policy (``fail_on_error``, ``max_failures``) turns that into a task
state. Transient failures left after the client's own retries raise a retryable error, so
Airflow's task retry reruns the batch, which the idempotency keys make safe.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

if TYPE_CHECKING:
    from airflow.sdk import Context

    from thredfi_provider.client import CreateResult, ThredfiError

log = logging.getLogger(__name__)

RecordsSource = Sequence[Mapping[str, Any]] | Callable[..., Iterable[Mapping[str, Any]]] | str | None


@dataclass(frozen=True)
class Job:
    """One record ready to send: its label, business and the call that creates it."""

    label: str
    business_id: str
    send: Callable[[], CreateResult]


@dataclass
class BatchSummary:
    created: int = 0
    existing: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)

    def fail(self, label: str, error: ThredfiError, business_id: str | None = None) -> None:
        entry: dict[str, Any] = {"external_id": label, "error": str(error), "retryable": error.retryable}
        if business_id:
            entry["business_id"] = business_id
        if getattr(error, "field", None):
            entry["field"] = error.field  # type: ignore[attr-defined]
        if error.status is not None:
            entry["status"] = error.status
        self.failed.append(entry)

    def to_xcom(self) -> dict[str, Any]:
        return {
            "total": self.created + self.existing + len(self.failed),
            "created": self.created,
            "existing": self.existing,
            "failed": self.failed,
            "ids": self.ids,
        }


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

    def run(job: Job) -> tuple[Job, CreateResult | ThredfiError]:
        try:
            return job, job.send()
        except ThredfiError as exc:
            return job, exc

    workers = max(1, min(max_workers, len(jobs)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="thredfi") as pool:
        for job, outcome in pool.map(run, jobs):
            if isinstance(outcome, ThredfiError):
                summary.fail(job.label, outcome, job.business_id)
                continue
            summary.ids[job.label] = str(outcome.record.get("id"))
            if outcome.created:
                summary.created += 1
            else:
                summary.existing += 1
    return summary


def enforce_policy(
    summary: BatchSummary, *, fail_on_error: bool, max_failures: int | None, what: str
) -> None:
    failed = summary.failed
    log.info(
        "Thredfi %s: %d created, %d already existing, %d failed",
        what,
        summary.created,
        summary.existing,
        len(failed),
    )
    for entry in failed[:50]:
        log.warning("Thredfi %s %r failed: %s", what, entry["external_id"], entry["error"])
    if not failed:
        return
    allowed = max_failures if max_failures is not None else (0 if fail_on_error else len(failed))
    if len(failed) <= allowed:
        return
    reason = f"{len(failed)} of {summary.to_xcom()['total']} {what} failed (allowed: {allowed})"
    if any(entry["retryable"] for entry in failed):
        raise ThredfiBatchError(reason + "; transient faults remain, retrying the task is safe")
    raise AirflowFailException(reason + "; first: " + failed[0]["error"])
