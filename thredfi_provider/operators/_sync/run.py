"""One execution of a sync operator: per business its lookups, its plan and its sync state.

Per record, before anything is sent: the state says it is settled (``unchanged``, 0 requests; not
during a full refresh); or it knows the Thredfi id and which plain fields changed (one PUT/PATCH to
that id, :func:`apply_known`); or the plan (:mod:`.lookups`) finds what Thredfi holds, per record
or by one concurrent pass. States are saved after each chunk; then mirror mode removes what left.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from thredfi_provider.operators._sync.batch_runner import Job, run_jobs
from thredfi_provider.operators._sync.progress import Progress, known_length
from thredfi_provider.operators._sync.record_outcome import Outcome
from thredfi_provider.operators._sync.state import SyncState, changed_fields, fingerprint
from thredfi_provider.operators._sync.wire_fields import LOCAL, asks_for_state, wire_names

if TYPE_CHECKING:
    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.client.compare import Differences
    from thredfi_provider.client.errors import ThredfiError
    from thredfi_provider.client.models import RecordModel
    from thredfi_provider.operators._sync.batch_summary import BatchSummary
    from thredfi_provider.operators._sync.lookups import BusinessLookups, Plan
    from thredfi_provider.operators._sync.scratch import SeenKeys
    from thredfi_provider.operators._sync.state import Entry
    from thredfi_provider.operators._sync.synced import SyncedOperator

log = logging.getLogger(__name__)


class SyncRun:
    """What one ``execute`` knows, kept across its chunks."""

    def __init__(
        self, op: SyncedOperator, client: ThredfiClient, summary: BatchSummary, seen: SeenKeys,
        stamp: str | None = None,
    ) -> None:  # fmt: skip
        self.op = op
        if op.plan_only:  # dry_run: every write is planned, none is sent
            from thredfi_provider.operators._sync.dry_run import DryRunClient

            client = DryRunClient(client)  # type: ignore[assignment]
        self.client = client
        self.sent_before = client.stats.requests
        self.summary = summary
        self.seen = seen
        self.now = dt.datetime.now(dt.UTC)
        self.stamp = stamp or self.now.isoformat()  # which snapshot this run is (its data interval)
        self.lookups: dict[str, BusinessLookups] = {}
        self.states: dict[str, SyncState] = {}
        self.refreshing: set[str] = set()
        self.progress = Progress(op.what, client.stats, known_length(op.records))

    def run(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Chunk by chunk: validate all, send, save the states; then mirror mode's removals."""
        from thredfi_provider.operators.sources import chunked

        for chunk in chunked(enumerate(records), self.op.chunk_size):
            refused = self.summary.failed_count
            grouped = self.op.validate(chunk, self.summary, self.seen)
            self.summary.validation_failures += self.summary.failed_count - refused
            run_jobs(self.jobs(grouped), self.summary, self.op.max_workers, on_done=self.done)
            self.save()  # after the chunk's requests: a crash costs a resend, never a lie
            self.progress.chunk_done(self.summary)
        self.mirror()
        self.save(final=True)

    # ------------------------------------------------------------------ per business

    def business(self, business_id: str) -> BusinessLookups:
        from thredfi_provider.operators._sync.lookups import BusinessLookups

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
            remembered = state.remembered if state is not None else None
            if remembered is not None and business_id in self.refreshing:
                remembered.forget()  # a full refresh learns the business afresh
            self.lookups[business_id] = BusinessLookups(
                self.client, business_id, prefer_index=full_pass, remembered=remembered
            )
        return self.lookups[business_id]

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
            # Changed since last applied, in fields a write to its id carries: a void, an archive or
            # their undoing needs the record's state (read through the plan), as does a dry run.
            changed = changed_fields(entry.fields, fields) if entry is not None and fields is not None else ()
            known = (
                entry is not None and entry.holds_id and bool(entry.fields)  # a baseline was applied
                and bool(changed) and not LOCAL & set(changed) and not asks_for_state(record)
                and not op.plan_only and business_id not in self.refreshing
            )  # fmt: skip
            if known and entry is not None and fields is not None:
                yield known_job(op, self.client, lookups, label, record, entry, changed, fields)
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
        self.progress.record_done(self.summary, job.business_id, getattr(result, "state", None))
        if isinstance(result, Outcome):
            self._remember(job.business_id, job.label, result.record_id, job.fingerprint, result.state)
            return
        self._remember(job.business_id, job.label, None, job.fingerprint, "failed")
        state = self.states.get(job.business_id)
        if state is not None and result.status in (400, 404, 422):
            state.remembered.forget()  # a refusal may be a stale reference: learn it again next run

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
        self.op.lineage_facts = self.progress.lineage(
            self.client.settings.base_url, self.op, self.lookups, value
        )
        return value

    # ------------------------------------------------------------------ mirror mode

    def mirror(self) -> None:
        """Remove what the state holds and the snapshot no longer has, per business seen.

        Only against the newest snapshot: a backfill's older snapshot lacks what was created since,
        and must not void it.
        """
        op = self.op
        if op.on_missing == "ignore":
            return
        if self.summary.validation_failures:
            log.warning(
                "Mirror mode removed nothing: %d source rows failed validation, so this snapshot "
                "is not known to be complete", self.summary.validation_failures,
            )  # fmt: skip
            self.summary.mirror_skipped = "source rows failed validation"
            return
        jobs: list[Job] = []
        for business_id, state in self.states.items():
            if state.mirrored_at and self.stamp < state.mirrored_at:
                log.warning("Mirror mode skipped business %s: this run's snapshot (%s) is older than the "
                            "one last mirrored (%s)", business_id, self.stamp, state.mirrored_at)  # fmt: skip
                self.summary.mirror_skipped = f"older than the snapshot last mirrored ({state.mirrored_at})"
                continue
            candidates = state.removable()
            present = self.seen.present(f"{business_id}\x00{ext}" for ext, _ in candidates)
            for external_id, entry in candidates:
                if f"{business_id}\x00{external_id}" not in present:
                    send = self._removal(business_id, str(entry.record_id))
                    jobs.append(Job(external_id, business_id, send, entry.fields))
            if not op.plan_only:
                state.mirrored(self.stamp)
        if jobs:
            run_jobs(jobs, self.summary, op.max_workers, on_done=self.done)

    def _removal(self, business_id: str, record_id: str) -> Any:
        from thredfi_provider.operators._sync.read_back import act_or_read_back

        resource = self.op.resource
        removal = resource.removal
        assert removal is not None  # on_missing was checked against it at parse time
        action = removal[0]

        def send() -> Outcome:
            # A void of a void invoice is a 409 on a strict server: after an ambiguous failure
            # the record's state decides (operators/_sync/read_back.py).
            act_or_read_back(self.client, business_id, resource, record_id, action, done=resource.is_removed)
            return Outcome("removed", record_id, changed=(action,))

        return send


def run_stamp(context: Mapping[str, Any]) -> str | None:
    """Which snapshot a run is: its data interval's end, else its logical date, else when it ran."""
    for key in ("data_interval_end", "logical_date"):
        value = context.get(key)
        if value is not None:
            return str(value.isoformat()) if hasattr(value, "isoformat") else str(value)
    run_after = getattr(context.get("dag_run"), "run_after", None)
    return run_after.isoformat() if run_after is not None else None


def known_job(
    op: SyncedOperator, client: ThredfiClient, lookups: BusinessLookups, label: str,
    record: RecordModel, entry: Entry, changed: tuple[str, ...], fields: dict[str, str],
) -> Job:  # fmt: skip
    """A record the sync state knows: its ``changed`` fields go straight to its Thredfi id."""
    from thredfi_provider.client.compare import UNKNOWN

    payload = op.render(lookups, label, record)
    diff = {name: (UNKNOWN, payload[name]) for name in wire_names(changed, payload)}
    held = {"id": entry.record_id}
    send = lambda: apply_known(op, client, lookups, record, payload, held, diff)  # noqa: E731
    return Job(label, lookups.business_id, send, fields)


def apply_known(
    op: SyncedOperator, client: ThredfiClient, lookups: BusinessLookups, record: RecordModel,
    payload: dict[str, Any], held: dict[str, Any], diff: Differences,
) -> Outcome:  # fmt: skip
    """One write to the stored id, no lookup; a refusal (a paid invoice) is settled by reading it,
    and an id Thredfi no longer knows (another environment's state) by looking the record up."""
    from thredfi_provider.client.errors import ThredfiConflictError, ThredfiNotFoundError
    from thredfi_provider.operators._sync.lookups import NOT_LOOKED

    try:
        if not diff:  # only fields the body does not carry changed: compare in full
            return op.sync(client, lookups, record, payload, op.read(client, lookups, str(held["id"])))
        return op.change(client, lookups, record, payload, held, diff)
    except ThredfiConflictError:
        return op.sync(client, lookups, record, payload, op.read(client, lookups, str(held["id"])))
    except ThredfiNotFoundError:
        return op.sync(client, lookups, record, payload, NOT_LOOKED)


def _raise(exc: BaseException) -> Outcome:
    raise exc
