"""The shared shape of the batch operators: records in, Thredfi made to match, one summary out.

Sync means sync. For each record the operator finds what Thredfi holds under its
``external_id`` (one pass of list pages per business, never one lookup per record), then:

- nothing held: create it (a create is idempotent on ``external_id``, so a retry or a race with
  another worker finds it instead of duplicating it);
- held and equal after normalising both sides: ``unchanged``, no request;
- held and different: apply the change through the endpoint the contract publishes for it,
  or report a *conflict* naming the field and the reason when there is none, or when the
  record's state forbids it. A changed record never ends as a silent "existing".

Subclasses say how to render a record and how a change is applied; the flow is here once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from thredfi_provider.operators.base_operator import ThredfiBaseOperator
from thredfi_provider.operators.job_runner import Job, Outcome, conflict, run_jobs
from thredfi_provider.operators.task_policy import enforce_policy

if TYPE_CHECKING:
    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.client.compare import Differences
    from thredfi_provider.client.models import RecordModel
    from thredfi_provider.client.resources import Resource
    from thredfi_provider.compat import Context
    from thredfi_provider.operators.business_lookups import BusinessLookups, Record
    from thredfi_provider.operators.dedup import SeenKeys
    from thredfi_provider.operators.sources import RecordsSource
    from thredfi_provider.operators.summary import BatchSummary

M = TypeVar("M", bound="RecordModel")
OnConflict = Literal["fail", "warn"]


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

    Returns the summary ``{"total", "created", "updated", "unchanged", "voided", "conflicts",
    "failed", "ids", ...}``; above 48 KB it carries the counts, the first failures and conflicts,
    and ``details`` (the report's path) instead, and
    :func:`~thredfi_provider.operators.summary.read_ids` reads either (see :doc:`/operators/index`).
    """

    template_fields: Sequence[str] = (
        "thredfi_conn_id", "records", "business_id", "on_conflict", "details_path", "details_conn_id",
    )  # fmt: skip
    what: ClassVar[str] = "records"
    # The resource synced, from the one registry; its record model is ``M``.
    resource: ClassVar[Resource[Any]]
    needs_business: ClassVar[bool] = True
    legacy_summary_xcom: ClassVar[bool] = False

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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if on_conflict not in ("fail", "warn"):
            raise ValueError(f"on_conflict must be 'fail' or 'warn', got {on_conflict!r}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
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
        model: type[M] = cls.resource.model()
        return model

    def execute(self, context: Context) -> Any:
        # Imported here, not at the top: a DAG file that imports the operator pays for none of it.
        from thredfi_provider.operators.dedup import SeenKeys
        from thredfi_provider.operators.sources import chunked, iter_records
        from thredfi_provider.operators.summary import BatchSummary

        summary = BatchSummary(keep_all_ids=self.legacy_summary_xcom)
        seen = SeenKeys()
        lookups: dict[str, BusinessLookups] = {}  # per business, kept across chunks
        client = self.hook.get_conn()
        records = iter_records(self.records, context)
        try:
            for chunk in chunked(enumerate(records), self.chunk_size):
                grouped = self.validate(chunk, summary, seen)
                run_jobs(self.jobs(client, grouped, lookups, summary), summary, self.max_workers)
            value = summary.to_xcom(publish=self.publisher(context))  # published also when failing
            if self.legacy_summary_xcom:  # what the old names pushed; the new names return it, once
                context["ti"].xcom_push(key="summary", value=value)
            enforce_policy(
                summary,
                fail_on_error=self.fail_on_error,
                max_failures=self.max_failures,
                on_conflict=self.on_conflict,
                what=self.what,
                details=value.get("details"),
            )
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
        from thredfi_provider.operators.chunk_validation import validate_chunk

        return validate_chunk(
            self.model(),
            chunk,
            summary,
            seen,
            business_id=self.business_id,
            needs_business=self.needs_business,
        )

    def jobs(
        self,
        client: ThredfiClient,
        grouped: dict[str, list[tuple[str, M]]],
        lookups: dict[str, BusinessLookups],
        summary: BatchSummary,
    ) -> Iterator[Job]:
        """Each record's job, built (references resolved, held record found) as it is consumed."""
        from thredfi_provider.client.errors import ThredfiError
        from thredfi_provider.operators.business_lookups import BusinessLookups

        for business_id, items in grouped.items():
            if business_id not in lookups:
                lookups[business_id] = BusinessLookups(client, business_id)
            for label, record in items:
                try:
                    job = self.job(client, lookups[business_id], label, record)
                except ThredfiError as exc:
                    summary.fail(label, exc, business_id or None)
                    continue
                yield job

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

    def held(self, client: ThredfiClient, lookups: BusinessLookups, record: M) -> Record | None:
        return lookups.held(self.resource.path, record.external_id)

    def sync(
        self, client: ThredfiClient, lookups: BusinessLookups, record: M, payload: dict[str, Any],
        held: Record | None,
    ) -> Outcome:  # fmt: skip
        from thredfi_provider.client.errors import ThredfiConflictError

        settled = self.settle(client, lookups, record, held)
        if settled is not None:
            return settled
        if held is None:
            try:
                result = self.create(client, lookups, record, payload)
            except ThredfiConflictError:
                # 409: the external_id is taken with another body; compare with what is there.
                held = self.read_by_external_id(client, lookups, record)
                if held is None:
                    raise
            else:
                if result.created:
                    return Outcome("created", str(result.record.get("id")))
                held = result.record
            # Found by the create itself (a list that hides archived parties, or a race):
            # its state may still ask for something.
            settled = self.settle(client, lookups, record, held)
            if settled is not None:
                return settled
        return self.reconcile(client, lookups, record, payload, held)

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
            diff = {
                k: v for k, v in differences(self.resource, payload, held).items() if not is_unknown(v[0])
            }
        if not diff:
            return Outcome("unchanged", str(held["id"]))
        return self.change(client, lookups, record, payload, held, diff)

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
        return client.find_by_external_id(lookups.business_id, self.resource, record.external_id)

    def change(
        self, client: ThredfiClient, lookups: BusinessLookups, record: M, payload: dict[str, Any],
        held: Record, diff: Differences,
    ) -> Outcome:  # fmt: skip
        """Apply a change; by default there is no published endpoint, so it is a conflict."""
        return conflict(held, diff, f"Thredfi publishes no update endpoint for {self.what}")

    def result(self, summary: BatchSummary, value: dict[str, Any]) -> Any:
        """What the task returns: the summary's XCom form (the deprecated names return ids)."""
        return value

    def publisher(self, context: Context) -> Callable[[IO[str]], str]:
        """Where a large batch's report goes: ``details_path``, or beside the task's logs."""
        from thredfi_provider.operators.details_report import details_publisher

        return details_publisher(context["ti"], self.details_path, self.details_conn_id)
