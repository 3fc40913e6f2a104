"""The shared shape of the batch operators: records in, per-record summary out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from thredfi_provider.operators.base import ThredfiBaseOperator
from thredfi_provider.operators.batch import (
    BatchSummary,
    Job,
    RecordsSource,
    enforce_policy,
    load_records,
    run_jobs,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from thredfi_provider.client import ThredfiClient
    from thredfi_provider.client.models import RecordModel
    from thredfi_provider.operators.lookups import BusinessLookups


class ThredfiSyncOperator(ThredfiBaseOperator):
    """Base for operators that create a batch of records idempotently.

    :param records: a list of dicts, an ``XComArg``, a JSON string, or a callable returning
        an iterable of dicts (called with the task context if it accepts one).
    :param business_id: the business for records that do not carry their own ``business_id``.
    :param max_workers: concurrent requests (threads sharing one session and token cache).
    :param fail_on_error: fail the task if any record fails (default ``True``).
    :param max_failures: tolerate up to this many failed records (overrides ``fail_on_error``).
    """

    template_fields: Sequence[str] = ("thredfi_conn_id", "records", "business_id")
    model_name: ClassVar[str] = ""
    what: ClassVar[str] = "records"
    needs_business: ClassVar[bool] = True

    def __init__(
        self,
        *,
        records: RecordsSource,
        business_id: str | None = None,
        max_workers: int = 8,
        fail_on_error: bool = True,
        max_failures: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.records = records
        self.business_id = business_id
        self.max_workers = max_workers
        self.fail_on_error = fail_on_error
        self.max_failures = max_failures

    def model(self) -> type[RecordModel]:
        from thredfi_provider.client import models

        model: type[RecordModel] = getattr(models, self.model_name)
        return model

    def execute(self, context: Context) -> Any:
        from thredfi_provider.client.client import segment
        from thredfi_provider.client.errors import ThredfiError, ThredfiRecordError
        from thredfi_provider.client.models import parse_record, record_label
        from thredfi_provider.operators.lookups import BusinessLookups

        summary = BatchSummary()
        model = self.model()
        grouped: dict[str, list[tuple[str, RecordModel]]] = {}
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
        result = summary.to_xcom()
        context["ti"].xcom_push(key="summary", value=result)
        enforce_policy(
            summary, fail_on_error=self.fail_on_error, max_failures=self.max_failures, what=self.what
        )
        return self.result(summary)

    def job(self, client: ThredfiClient, lookups: BusinessLookups, label: str, record: RecordModel) -> Job:
        """Check the record against the business and return the call that creates it."""
        payload = record.payload()
        resource = type(record).resource
        return Job(label, lookups.business_id, lambda: client.create(lookups.business_id, resource, payload))

    def result(self, summary: BatchSummary) -> Any:
        return summary.to_xcom()
