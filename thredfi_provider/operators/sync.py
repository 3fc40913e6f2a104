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

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, cast

from thredfi_provider.operators.base import ThredfiBaseOperator
from thredfi_provider.operators.batch import (
    BatchSummary,
    Job,
    Outcome,
    RecordsSource,
    enforce_policy,
    load_records,
    run_jobs,
)

if TYPE_CHECKING:
    from thredfi_provider.client import ThredfiClient
    from thredfi_provider.client.compare import Differences
    from thredfi_provider.client.models import RecordModel
    from thredfi_provider.compat import Context
    from thredfi_provider.operators.lookups import BusinessLookups, Record

M = TypeVar("M", bound="RecordModel")
OnConflict = Literal["fail", "warn"]


class ThredfiSyncOperator(ThredfiBaseOperator, Generic[M]):
    """Base for operators that make Thredfi match a batch of source records.

    :param records: a list of dicts, an ``XComArg``, a JSON string, or a callable returning
        an iterable of dicts (given what its signature asks for: the context, or context keys).
    :param business_id: the business for records that do not carry their own ``business_id``.
    :param max_workers: concurrent requests (threads sharing one session and token cache).
    :param fail_on_error: fail the task if any record fails (default ``True``).
    :param max_failures: tolerate up to this many failed records (overrides ``fail_on_error``).
    :param on_conflict: ``"fail"`` (default) fails the task, after every other record has
        landed, when a source change cannot be applied; ``"warn"`` logs it and succeeds. Either
        way each conflict is in the summary with its field and reason.

    Returns the summary ``{"total", "created", "updated", "unchanged", "voided", "conflicts",
    "failed", "ids"}`` (see :doc:`/operators/index`).
    """

    template_fields: Sequence[str] = ("thredfi_conn_id", "records", "business_id", "on_conflict")
    model_name: ClassVar[str] = ""
    what: ClassVar[str] = "records"
    resource: ClassVar[str] = ""
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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if on_conflict not in ("fail", "warn"):
            raise ValueError(f"on_conflict must be 'fail' or 'warn', got {on_conflict!r}")
        self.records = records
        self.business_id = business_id
        self.max_workers = max_workers
        self.fail_on_error = fail_on_error
        self.max_failures = max_failures
        self.on_conflict = on_conflict

    @classmethod
    def model(cls) -> type[M]:
        from thredfi_provider.client import models

        return cast("type[M]", getattr(models, cls.model_name))

    def execute(self, context: Context) -> Any:
        from thredfi_provider.client.client import segment
        from thredfi_provider.client.errors import ThredfiError, ThredfiRecordError
        from thredfi_provider.client.models import parse_record, record_label
        from thredfi_provider.operators.lookups import BusinessLookups

        summary = BatchSummary()
        model = self.model()
        grouped: dict[str, list[tuple[str, M]]] = {}
        seen: set[tuple[str, str]] = set()
        for index, raw in enumerate(load_records(self.records, context)):
            label = record_label(raw, index)
            try:
                record = parse_record(model, raw, index)
                business_id = record.business_id or self.business_id or ""
                if self.needs_business and not business_id:
                    raise ThredfiRecordError(
                        label, "business_id", "no business_id on the record or the operator"
                    )
                if business_id:
                    try:
                        segment(business_id, "business_id")
                    except ThredfiError:
                        raise ThredfiRecordError(
                            label, "business_id", f"{business_id[:80]!r} is not a Thredfi id"
                        ) from None
                if (business_id, record.external_id) in seen:
                    raise ThredfiRecordError(label, "external_id", "duplicate external_id in this batch")
            except ThredfiRecordError as exc:
                summary.fail(label, exc)
                continue
            seen.add((business_id, record.external_id))
            grouped.setdefault(business_id, []).append((record.external_id, record))

        client = self.client
        jobs: list[Job] = []
        for business_id, items in grouped.items():
            lookups = BusinessLookups(client, business_id)
            for label, record in items:
                try:
                    jobs.append(self.job(client, lookups, label, record))
                except ThredfiError as exc:
                    summary.fail(label, exc, business_id or None)
        run_jobs(jobs, summary, self.max_workers)
        if self.legacy_summary_xcom:  # what the old names pushed; the new names return it, once
            context["ti"].xcom_push(key="summary", value=summary.to_xcom())
        enforce_policy(
            summary,
            fail_on_error=self.fail_on_error,
            max_failures=self.max_failures,
            on_conflict=self.on_conflict,
            what=self.what,
        )
        return self.result(summary)

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
        return lookups.held(self.resource, record.external_id)

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
        found = client.find_by_external_id(
            f"businesses/{lookups.business_id}/{self.resource}/", record.external_id,
            business_id=lookups.business_id,
        )  # fmt: skip
        return found

    def change(
        self, client: ThredfiClient, lookups: BusinessLookups, record: M, payload: dict[str, Any],
        held: Record, diff: Differences,
    ) -> Outcome:  # fmt: skip
        """Apply a change; by default there is no published endpoint, so it is a conflict."""
        return conflict(held, diff, f"Thredfi publishes no update endpoint for {self.what}")

    def result(self, summary: BatchSummary) -> Any:
        return summary.to_xcom()


def conflict(held: Record, diff: Differences, reason: str) -> Outcome:
    """A conflict on the first changed field, naming every changed field in the reason."""
    name, (theirs, ours) = next(iter(diff.items()))
    others = [f for f in diff if f != name]
    if others:
        reason += f" (also changed: {', '.join(others)})"
    return Outcome("conflict", str(held.get("id")), field=name, reason=reason, held=theirs, sent=ours)


def updated(held: Record, diff: Differences) -> Outcome:
    return Outcome("updated", str(held.get("id")), changed=tuple(diff))
