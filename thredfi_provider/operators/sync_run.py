"""One execution of a sync operator: per business its lookups, its plan and its sync state.

What it decides, record by record, before anything is sent:

- **the state says it is settled** (same field digests, last outcome a success): ``unchanged``,
  0 requests. Not during a full refresh, which compares everything again.
- **the state knows its Thredfi id and which fields changed**: one PUT/PATCH (or void, archive)
  to that id, no lookup (:meth:`ThredfiSyncOperator.apply_known`).
- **otherwise** the plan (:mod:`.sync_plan`) finds what Thredfi holds: per record (create first)
  or from one concurrent pass of pages, whichever it prices cheaper.

After each chunk the states are saved; after the last, mirror mode removes what left the source.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from thredfi_provider.operators.job_runner import Job, Outcome, run_jobs
from thredfi_provider.operators.sync_fields import wire_names
from thredfi_provider.operators.sync_state import SyncState, changed_fields, fingerprint

if TYPE_CHECKING:
    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.client.compare import Differences
    from thredfi_provider.client.errors import ThredfiError
    from thredfi_provider.client.models import RecordModel
    from thredfi_provider.operators.business_lookups import BusinessLookups
    from thredfi_provider.operators.dedup import SeenKeys
    from thredfi_provider.operators.summary import BatchSummary
    from thredfi_provider.operators.sync_operator import ThredfiSyncOperator
    from thredfi_provider.operators.sync_plan import Plan
    from thredfi_provider.operators.sync_state import Entry

log = logging.getLogger(__name__)

# How mirror mode removes a record, per resource: the published action, or none (a conflict).
REMOVALS = {"invoices": ("void", "void"), "customers": ("archive", "archived")}


class SyncRun:
    """What one ``execute`` knows, kept across its chunks."""

    def __init__(
        self, op: ThredfiSyncOperator[Any], client: ThredfiClient, summary: BatchSummary, seen: SeenKeys
    ) -> None:
        self.op = op
        if op.plan_only:  # dry_run: every write is planned, none is sent
            from thredfi_provider.operators.dry_run import DryRunClient

            client = DryRunClient(client)  # type: ignore[assignment]
        self.client = client
        self.sent_before = client.stats.requests
        self.summary = summary
        self.seen = seen
        self.now = dt.datetime.now(dt.UTC)
        self.lookups: dict[str, BusinessLookups] = {}
        self.states: dict[str, SyncState] = {}
        self.refreshing: set[str] = set()

    def run(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Chunk by chunk: validate all, send, save the states; then mirror mode's removals."""
        from thredfi_provider.operators.sources import chunked

        for chunk in chunked(enumerate(records), self.op.chunk_size):
            refused = self.summary.failed_count
            grouped = self.op.validate(chunk, self.summary, self.seen)
            self.summary.validation_failures += self.summary.failed_count - refused
            run_jobs(self.jobs(grouped), self.summary, self.op.max_workers, on_done=self.done)
            self.save()  # after the chunk's requests: a crash costs a resend, never a lie
        self.mirror()
        self.save(final=True)

    # ------------------------------------------------------------------ per business

    def business(self, business_id: str) -> BusinessLookups:
        from thredfi_provider.operators.business_lookups import BusinessLookups

        if business_id not in self.lookups:
            op = self.op
            state = None
            if op.state_path:
                state = SyncState.load(
                    op.state_path, op.state_conn_id, op.thredfi_conn_id, business_id, op.resource.name
                )
                self.states[business_id] = state
            if op.full_refresh or (
                state is not None and state.refresh_due(op.full_refresh_every_days, self.now)
            ):
                self.refreshing.add(business_id)
            full_pass = op.plan_only or business_id in self.refreshing
            self.lookups[business_id] = BusinessLookups(self.client, business_id, prefer_index=full_pass)
        return self.lookups[business_id]

    # ------------------------------------------------------------------ one chunk

    def jobs(self, grouped: Mapping[str, list[tuple[str, RecordModel]]]) -> Iterator[Job]:
        """Each record's job, built as the pool asks for it; settled records cost nothing."""
        for business_id, items in grouped.items():
            lookups = self.business(business_id)
            state = self.states.get(business_id)
            refreshing = business_id in self.refreshing
            pending = []
            for label, record in items:
                fields = fingerprint(record) if state is not None else None
                entry = state.get(record.external_id) if state is not None else None
                if entry is not None and fields is not None and not refreshing and entry.settled_as(fields):
                    self.summary.record(label, business_id, Outcome("unchanged", entry.record_id))
                    continue
                pending.append((label, record, fields, entry))
            plan = lookups.plan(self.op.resource.path)
            plan.next_chunk(len(pending))
            for position, (label, record, fields, entry) in enumerate(pending):
                yield from self._job(lookups, plan, label, record, fields, entry, len(pending) - position)

    def _job(
        self, lookups: BusinessLookups, plan: Plan, label: str, record: RecordModel,
        fields: dict[str, str] | None, entry: Entry | None, remaining: int,
    ) -> Iterator[Job]:  # fmt: skip
        from thredfi_provider.client.errors import ThredfiError

        op, business_id = self.op, lookups.business_id
        try:
            # Changed since it was last applied (a conflict or failure since keeps what was applied).
            known = entry is not None and entry.holds_id and fields is not None and fields != entry.fields
            if known and entry is not None and business_id not in self.refreshing:
                job = known_job(op, self.client, lookups, label, record, entry, fields or {})
                yield Job(job.label, job.business_id, job.send, fields)
                return
            sampling = op.planned and plan.decide(remaining) == "sample"
            job = op.job(self.client, lookups, label, record)
        except ThredfiError as exc:
            self.summary.fail(label, exc, business_id or None)
            self._remember(business_id, label, None, fields, "failed")
            return
        if not sampling:
            yield Job(job.label, job.business_id, job.send, fields)
            return
        # The plan learns from its first records what kind of day this is: sent now, in order.
        try:
            outcome = job.send()
        except ThredfiError as exc:
            plan.observe(None)
            failure = exc
            yield Job(label, business_id, lambda: _raise(failure), fields)
            return
        plan.observe(outcome.state)
        yield Job(label, business_id, lambda: outcome, fields)

    def done(self, job: Job, result: Outcome | ThredfiError) -> None:
        """How a record ended, into its business's state (the pool's results, on this thread)."""
        if isinstance(result, Outcome):
            self._remember(job.business_id, job.label, result.record_id, job.fingerprint, result.state)
        else:
            self._remember(job.business_id, job.label, None, job.fingerprint, "failed")

    def _remember(self, business_id: str, external_id: str, record_id: str | None,
                  fields: dict[str, str] | None, outcome: str) -> None:  # fmt: skip
        state = self.states.get(business_id)
        if state is not None and fields is not None and not self.op.plan_only:
            state.record(external_id, record_id, fields, outcome)

    def save(self, *, final: bool = False) -> None:
        """After a chunk's requests: what ended is written, atomically, per business."""
        if self.op.plan_only:
            return
        for business_id, state in self.states.items():
            refreshed = final and business_id in self.refreshing
            state.save(full_refresh_at=self.now.isoformat() if refreshed else None)

    def finish(self, value: dict[str, Any]) -> dict[str, Any]:
        """The summary's XCom, with what this run cost and how it ran."""
        value["requests"] = self.client.stats.requests - self.sent_before
        if self.op.plan_only:
            value["dry_run"] = True
        if self.summary.mirror_skipped:
            value["mirror_skipped"] = self.summary.mirror_skipped
        return value

    # ------------------------------------------------------------------ mirror mode

    def mirror(self) -> None:
        """Remove what the state holds and the snapshot no longer has, per business seen."""
        op = self.op
        if op.on_missing == "ignore":
            return
        if self.summary.failed_count and self.summary.validation_failures:
            log.warning(
                "Mirror mode removed nothing: %d source rows failed validation, so this snapshot "
                "is not known to be complete", self.summary.validation_failures,
            )  # fmt: skip
            self.summary.mirror_skipped = "source rows failed validation"
            return
        jobs: list[Job] = []
        for business_id, state in self.states.items():
            candidates = state.missing_from(())
            present = self.seen.present(f"{business_id}\x00{ext}" for ext, _ in candidates)
            for external_id, entry in candidates:
                if f"{business_id}\x00{external_id}" not in present:
                    record_id = str(entry.record_id)
                    send = self._removal(business_id, record_id)
                    jobs.append(Job(external_id, business_id, send, entry.fields))
        if jobs:
            run_jobs(jobs, self.summary, op.max_workers, on_done=self.done)

    def _removal(self, business_id: str, record_id: str) -> Any:
        from thredfi_provider.operators.ambiguous import act_or_read_back

        resource, on_missing = self.op.resource, self.op.on_missing
        action, reached = REMOVALS.get(resource.path, (None, None))

        def send() -> Outcome:
            if action is None or action != on_missing:
                return Outcome(
                    "conflict", record_id, field="on_missing", held=None, sent=on_missing,
                    reason=f"Thredfi publishes no way to {on_missing} {self.op.what}",
                )  # fmt: skip
            # A void of a void invoice is a 409 on a strict server: after an ambiguous failure
            # the record's state decides (operators/ambiguous.py).
            act_or_read_back(
                self.client, business_id, resource, record_id, action, done=lambda r: _is(r, reached)
            )
            return Outcome("removed", record_id, changed=(action,))

        return send


def known_job(
    op: ThredfiSyncOperator[Any], client: ThredfiClient, lookups: BusinessLookups, label: str,
    record: RecordModel, entry: Entry, fields: dict[str, str],
) -> Job:  # fmt: skip
    """A record the sync state knows: its changed fields go straight to its Thredfi id."""
    from thredfi_provider.client.compare import UNKNOWN

    payload = op.render(lookups, label, record)
    names = wire_names(changed_fields(entry.fields, fields), payload)
    diff = {name: (UNKNOWN, payload[name]) for name in names}
    held = {"id": entry.record_id}
    return Job(
        label, lookups.business_id, lambda: apply_known(op, client, lookups, record, payload, held, diff)
    )


def apply_known(
    op: ThredfiSyncOperator[Any], client: ThredfiClient, lookups: BusinessLookups, record: RecordModel,
    payload: dict[str, Any], held: dict[str, Any], diff: Differences,
) -> Outcome:  # fmt: skip
    """One write to the stored id, no lookup; a refusal (a paid invoice) is settled by reading it."""
    from thredfi_provider.client.errors import ThredfiConflictError

    settled = op.settle(client, lookups, record, held)
    if settled is not None:
        return settled
    if not diff:  # only a steering field changed (cancelled back to false): compare in full
        return op.reconcile(client, lookups, record, payload, op.read(client, lookups, str(held["id"])))
    try:
        return op.change(client, lookups, record, payload, held, diff)
    except ThredfiConflictError:
        current = op.read(client, lookups, str(held["id"]))
        return op.reconcile(client, lookups, record, payload, current)


def _is(held: Mapping[str, Any], reached: str | None) -> bool:
    status = str(held.get("status") or "").lower()
    if reached == "archived":
        return bool(held.get("is_archived")) or status == "archived"
    return status in ("void", "voided")


def _raise(exc: BaseException) -> Outcome:
    raise exc
