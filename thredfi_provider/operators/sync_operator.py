"""The shared shape of the batch operators: records in, Thredfi made to match, one summary out.

Sync means sync, and costs what changed. For each record the operator learns what Thredfi holds
under its ``external_id`` from the cheapest source that can prove it: the sync state (what was last
applied, :mod:`._sync.state`), the idempotent create itself, or one concurrent pass of pages,
whichever the plan prices lower (:mod:`._sync.lookups`, :mod:`._sync.run`). Then:

- nothing held: create it (a create is idempotent on ``external_id``, so a retry or a race with
  another worker finds it instead of duplicating it);
- held and equal after normalising both sides: ``unchanged``, no request; a field Thredfi's read
  does not return cannot be proven equal: ``unverified``, never ``unchanged``;
- held and different: apply the change through the endpoint the contract publishes for it,
  or report a *conflict* naming the field and the reason when there is none, or when the
  record's state forbids it. A changed record never ends as a silent "existing".

Subclasses say how to render a record and how a change is applied; the flow is here once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from thredfi_provider.hooks.task_state import enforce_policy
from thredfi_provider.operators._sync.batch_runner import Job
from thredfi_provider.operators._sync.options import OnConflict, OnMissing, check_options
from thredfi_provider.operators._sync.record_outcome import Outcome, conflict
from thredfi_provider.operators.base_operator import ThredfiBaseOperator

if TYPE_CHECKING:
    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.client.compare import Differences
    from thredfi_provider.client.models import RecordModel
    from thredfi_provider.client.resources import Resource
    from thredfi_provider.compat import Context
    from thredfi_provider.operators._sync.batch_summary import BatchSummary
    from thredfi_provider.operators._sync.lookups import BusinessLookups, NotLooked, Record
    from thredfi_provider.operators._sync.scratch import SeenKeys
    from thredfi_provider.operators.sources import RecordsSource

M = TypeVar("M", bound="RecordModel")


class ThredfiSyncOperator(ThredfiBaseOperator, Generic[M]):
    """Base for operators that make Thredfi match a batch of source records.

    :param records: a list of dicts, an ``XComArg``, a JSON string, a callable returning an
        iterable of dicts (a generator is read lazily; the callable gets what its signature asks
        for: the context, or context keys), or :class:`~thredfi_provider.operators.sources.SqlRecords`.
    :param business_id: the business for records that do not carry their own ``business_id``.
    :param max_workers: concurrent requests (threads sharing one session and token cache).
    :param fail_on_error: fail the task if any record fails (default ``True``).
    :param max_failures: tolerate up to this many failed records (overrides ``fail_on_error``).
    :param chunk_size: records read, validated and sent per chunk. Memory is bounded by this,
        not by the batch: a million-record source never sits in the worker at once. Each chunk's
        records are all validated before any of them is sent.
    :param details_path: where a large batch's per-record report goes (JSONL; a local path or
        an fsspec URL such as ``s3://bucket/thredfi/``, templated). Default: beside the task's
        logs. Set it to shared storage when downstream tasks run on other machines.
    :param details_conn_id: the Airflow connection for ``details_path``'s storage.
    :param on_conflict: ``"fail"`` (default) fails the task, after every other record has
        landed, when a source change cannot be applied; ``"warn"`` logs it and succeeds. Either
        way each conflict is in the summary with its field and reason.
    :param state_path: where the sync state lives (an ``ObjectStoragePath`` URL or a local path,
        templated): one object per connection, business and resource. With it an unchanged
        record costs no request, a changed one a single PUT/PATCH to its stored id, and last run's
        failures and conflicts are tried again. See :doc:`/sync-decisions`.
    :param state_conn_id: the Airflow connection for ``state_path``'s storage.
    :param on_missing: mirror mode: ``"void"`` (invoices) or ``"archive"`` (customers) a record
        the state holds and the source no longer has, counted as ``removed``. Needs
        ``state_path`` and ``full_snapshot=True``. Default ``"ignore"``.
    :param full_snapshot: the source is every record of its businesses, not a day's delta.
        Mirror mode removes only against the newest snapshot (a backfill's is older).
    :param full_refresh: compare every record against what Thredfi holds (one concurrent pass)
        and repair the state: how changes made inside Thredfi are caught.
    :param full_refresh_every_days: a full refresh when the state's last one is this old.
    :param dry_run: return the plan (would create, update, void, conflict) and send no write.

    Returns the summary ``{"total", "created", "updated", "unchanged", "voided", "conflicts",
    "failed", "ids", ...}``; above 48 KB it carries the counts, the first failures and conflicts,
    and ``details`` (the report's path) instead, and
    :func:`~thredfi_provider.operators.summary.read_ids` reads either (see :doc:`/operators/index`).
    """

    template_fields: Sequence[str] = (
        "thredfi_conn_id", "records", "business_id", "on_conflict", "details_path", "details_conn_id",
        "state_path", "state_conn_id",
    )  # fmt: skip
    what: ClassVar[str] = "records"
    resource: ClassVar[Resource]  # from the one registry; the model that names it is ``M``
    needs_business: ClassVar[bool] = True
    legacy_summary_xcom: ClassVar[bool] = False
    planned: ClassVar[bool] = True  # finds what is held through the plan (not the businesses list)

    def __init__(
        self,
        *,
        records: RecordsSource,
        business_id: str | None = None,
        max_workers: int = 8,
        fail_on_error: bool = True,
        max_failures: int | None = None,
        on_conflict: OnConflict = "fail",
        chunk_size: int = 5_000,
        details_path: str | None = None,
        details_conn_id: str | None = None,
        state_path: str | None = None,
        state_conn_id: str | None = None,
        on_missing: OnMissing = "ignore",
        full_snapshot: bool = False,
        full_refresh: bool = False,
        full_refresh_every_days: int | None = None,
        dry_run: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_options(
            on_conflict=on_conflict, chunk_size=chunk_size, on_missing=on_missing, state_path=state_path,
            full_snapshot=full_snapshot, full_refresh_every_days=full_refresh_every_days,
            resource_path=self.resource.path,
        )  # fmt: skip
        self.state_path = state_path
        self.state_conn_id = state_conn_id
        self.on_missing = on_missing
        self.full_snapshot = full_snapshot
        self.full_refresh = full_refresh
        self.full_refresh_every_days = full_refresh_every_days
        self.plan_only = dry_run  # BaseOperator.dry_run is Airflow's own method
        self.chunk_size = chunk_size
        self.details_path = details_path
        self.details_conn_id = details_conn_id
        self.records = records
        self.business_id = business_id
        self.max_workers = max_workers
        self.fail_on_error = fail_on_error
        self.max_failures = max_failures
        self.on_conflict = on_conflict

    @classmethod
    def model(cls) -> type[M]:
        """The record model, imported at ``execute`` only: a DAG file never pays for pydantic."""
        from thredfi_provider.client.models import model_for

        return cast("type[M]", model_for(cls.resource))

    def execute(self, context: Context) -> Any:
        # Imported here, not at the top: a DAG file that imports the operator pays for none of it.
        from thredfi_provider.operators._sync.batch_summary import BatchSummary
        from thredfi_provider.operators._sync.report_storage import details_publisher
        from thredfi_provider.operators._sync.run import SyncRun, run_stamp
        from thredfi_provider.operators._sync.scratch import SeenKeys
        from thredfi_provider.operators.sources import iter_records

        summary = BatchSummary(keep_all_ids=self.legacy_summary_xcom)
        seen = SeenKeys()
        run = SyncRun(self, self.client(), summary, seen, stamp=run_stamp(context))
        records = iter_records(self.records, context)
        try:
            run.run(records)
            # Published also when failing: ``details_path``, or beside the task's logs.
            publish = details_publisher(context["ti"], self.details_path, self.details_conn_id)
            value = run.finish(summary.to_xcom(publish=publish))
            if self.legacy_summary_xcom:  # what the old names pushed; the new names return it, once
                context["ti"].xcom_push(key="summary", value=value)
            enforce_policy(
                summary, fail_on_error=self.fail_on_error, max_failures=self.max_failures,
                on_conflict="warn" if self.plan_only else self.on_conflict, what=self.what,
                details=value.get("details"), scope=run.progress.where(sorted(run.lookups)),
            )  # fmt: skip
            return self.result(summary, value)
        finally:
            close = getattr(records, "close", None)  # a generator or SqlRecords' cursor and connection
            if close is not None:
                close()
            seen.close()
            summary.close()

    def validate(
        self, chunk: list[tuple[int, Mapping[str, Any]]], summary: BatchSummary, seen: SeenKeys
    ) -> dict[str, list[tuple[str, M]]]:
        """Parse and check one chunk before any of it is sent; refuse repeats across chunks too."""
        from thredfi_provider.operators._sync.chunks import validate_chunk

        return validate_chunk(
            self.model(),
            chunk,
            summary,
            seen,
            business_id=self.business_id,
            needs_business=self.needs_business,
        )

    # ------------------------------------------------------------------ one record

    def job(self, client: ThredfiClient, lookups: BusinessLookups, label: str, record: M) -> Job:
        """Resolve references and find what Thredfi holds (main thread), then sync (pool)."""
        payload = self.render(lookups, label, record)
        held = self.held(client, lookups, record)
        return Job(label, lookups.business_id, lambda: self.sync(client, lookups, record, payload, held))

    @classmethod
    def render(cls, lookups: BusinessLookups, label: str, record: M) -> dict[str, Any]:
        """The wire payload, with references resolved; raise ThredfiRecordError to refuse."""
        return record.payload()

    def held(self, client: ThredfiClient, lookups: BusinessLookups, record: M) -> Record | NotLooked | None:
        """What Thredfi holds, as far as the plan has looked (``NOT_LOOKED``: create first and see)."""
        return lookups.plan(self.resource.path).held(record.external_id)

    def sync(
        self, client: ThredfiClient, lookups: BusinessLookups, record: M, payload: dict[str, Any],
        held: Record | NotLooked | None,
    ) -> Outcome:  # fmt: skip
        from thredfi_provider.client.errors import ThredfiConflictError
        from thredfi_provider.operators._sync.wire_fields import asks_for_state

        found: Record | None
        if isinstance(held, dict) or held is None:
            found = held
        else:  # NOT_LOOKED: create first, and the create says what is there; but a void or an
            # archive must not create what it removes, so those look first.
            found = self.read_by_external_id(client, lookups, record) if asks_for_state(record) else None
        settled = self.settle(client, lookups, record, found)
        if settled is not None:
            return settled
        if found is None:
            try:
                result = self.create(client, lookups, record, payload)
            except ThredfiConflictError:
                # 409: the external_id is taken with another body; compare with what is there.
                found = self.read_by_external_id(client, lookups, record)
                if found is None:
                    raise
            else:
                if result.created and result.confirmed:
                    return Outcome("created", str(result.record.get("id")))
                found = result.record
                if result.created:  # made by a lost attempt, or there before: equal means made here
                    outcome = self.reconcile(client, lookups, record, payload, found)
                    return replace(outcome, state="created") if outcome.state == "unchanged" else outcome
            # Found by the create itself (a list that hides archived parties, or a race):
            # its state may still ask for something.
            settled = self.settle(client, lookups, record, found)
            if settled is not None:
                return settled
        return self.reconcile(client, lookups, record, payload, found)

    def reconcile(
        self,
        client: ThredfiClient,
        lookups: BusinessLookups,
        record: M,
        payload: dict[str, Any],
        held: Record,
    ) -> Outcome:
        from thredfi_provider.client.compare import differences, is_unknown

        diff = differences(self.resource, payload, held)
        if any(is_unknown(theirs) for theirs, _ in diff.values()):
            held = self.read(client, lookups, str(held["id"]))  # the list shape did not show it all
            diff = differences(self.resource, payload, held)
        unseen = tuple(name for name, (theirs, _) in diff.items() if is_unknown(theirs))
        known = {name: pair for name, pair in diff.items() if not is_unknown(pair[0])}
        if known:
            return self.change(client, lookups, record, payload, held, known)
        if unseen:  # Thredfi's read does not return these: not proven equal, so not "unchanged"
            return Outcome("unverified", str(held["id"]), changed=unseen)
        return Outcome("unchanged", str(held["id"]))

    # ------------------------------------------------------------------ what subclasses tune

    def settle(
        self, client: ThredfiClient, lookups: BusinessLookups, record: M, held: Record | None
    ) -> Outcome | None:
        """A state the source asks for beyond its fields (cancelled, archived); None to go on."""
        return None

    def create(
        self, client: ThredfiClient, lookups: BusinessLookups, record: M, payload: dict[str, Any]
    ) -> Any:
        return client.create(lookups.business_id, self.resource, payload)

    def read(self, client: ThredfiClient, lookups: BusinessLookups, record_id: str) -> Record:
        return client.get(lookups.business_id, self.resource, record_id)

    def read_by_external_id(
        self, client: ThredfiClient, lookups: BusinessLookups, record: M
    ) -> Record | None:
        """By a filtered list checked here, or the index once the server shows it ignores it."""
        return lookups.find(self.resource.path, record.external_id)

    def change(
        self, client: ThredfiClient, lookups: BusinessLookups, record: M, payload: dict[str, Any],
        held: Record, diff: Differences,
    ) -> Outcome:  # fmt: skip
        """Apply a change; by default there is no published endpoint, so it is a conflict."""
        return conflict(held, diff, f"Thredfi publishes no update endpoint for {self.what}")

    def result(self, summary: BatchSummary, value: dict[str, Any]) -> Any:
        """What the task returns: the summary's XCom form (the deprecated names return ids)."""
        return value
