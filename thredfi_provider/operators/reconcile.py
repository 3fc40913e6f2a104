"""Compare what Thredfi holds with the source, record by record, in O(pages) requests.

A sync reports what it did; a reconciliation checks what is true, including what happened
behind the sync's back: a record deleted or voided in Thredfi by hand, one created there by
someone else, an amount edited in the UI. It reads each business's list once (never one request
per record), normalises both sides exactly as the sync operators do, and reports per business
what is missing, what is extra and what differs (field by field, with both values), with
counts and totals by currency.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from thredfi_provider.client.resources import BUSINESS, CUSTOMER, INVOICE, resolve
from thredfi_provider.hooks.task_state import task_state_from_errors
from thredfi_provider.operators.base_operator import ThredfiBaseOperator
from thredfi_provider.operators.sources import RecordsSource, load_records

if TYPE_CHECKING:
    from thredfi_provider.client.models import RecordModel
    from thredfi_provider.compat import Context
    from thredfi_provider.operators._sync.lookups import BusinessLookups, Record
    from thredfi_provider.operators.sync_operator import ThredfiSyncOperator

# What can be reconciled: every resource a sync operator writes (client/resources.py names them).
RECONCILABLE = ("business", "customer", "vendor", "invoice", "payment", "bill", "bill_payment")
MAX_LISTED = 1000  # per list in the returned report; the JSON file written has them all


class ThredfiReconcileOperator(ThredfiBaseOperator):
    """Report drift between the source's records and Thredfi's, per business and per record.

    :param resource: ``invoice``, ``payment``, ``bill``, ``bill_payment``, ``customer``,
        ``vendor`` or ``business``: the sensor's spelling. The old plural (``invoices``) warns
        and works until 2.0.
    :param records: the same input the sync operator takes (a list, an ``XComArg``, JSON or a
        callable), normally the same source query.
    :param business_id: for records without their own ``business_id``.
    :param window_start: only Thredfi records dated on or after this day count (``YYYY-MM-DD``;
        the date is ``sent_at``, ``bill_date`` or ``payment_date``), so records outside the
        source's window are not reported as extra.
    :param window_end: ... and before this day (exclusive), like a data interval.
    :param report_path: also write the full report as JSON to this path or URL
        (an ``ObjectStoragePath``: ``file://``, ``s3://`` ...).
    :param report_conn_id: the object storage connection for ``report_path`` (as ``details_conn_id``
        is for a sync's ``details_path``); a connection inside the URL (``s3://conn@bucket/``) works too.
    :param fail_on_drift: fail the task when anything is missing, extra or different.

    Returns ``{"clean", "complete", "resource", "window", "summary", "businesses": {business_id:
    {"missing", "extra", "differs", "duplicates", "unverifiable", "counts", "totals"}}}``;
    ``duplicates`` are external_ids Thredfi holds more than once; ``unverifiable`` are source
    records Thredfi's read cannot be matched to (the published payment read carries no
    ``external_id``), so ``clean`` (no drift found) comes with ``complete`` (everything compared).

    .. seealso:: :doc:`/operators/reconcile`
    """

    template_fields: Sequence[str] = (
        "thredfi_conn_id", "resource", "records", "business_id", "window_start", "window_end", "report_path",
        "report_conn_id",
    )  # fmt: skip
    what: ClassVar[str] = "records"

    def __init__(
        self,
        *,
        resource: str,
        records: RecordsSource,
        business_id: str | None = None,
        window_start: str | None = None,
        window_end: str | None = None,
        report_path: str | None = None,
        report_conn_id: str | None = None,
        fail_on_drift: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        from thredfi_provider.hooks.status import one_spelling

        self.resource = one_spelling(resource, caller="ThredfiReconcileOperator", allowed=RECONCILABLE)
        self.records = records
        self.business_id = business_id
        self.window_start = window_start
        self.window_end = window_end
        self.report_path = report_path
        self.report_conn_id = report_conn_id
        self.fail_on_drift = fail_on_drift

    def _sync_class(self) -> type[ThredfiSyncOperator[Any]]:
        """The sync operator whose rendering this shares, imported only when the task runs."""
        from thredfi_provider.operators.bills import ThredfiSyncBillPaymentsOperator, ThredfiSyncBillsOperator
        from thredfi_provider.operators.businesses import ThredfiSyncBusinessesOperator
        from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
        from thredfi_provider.operators.parties import (
            ThredfiSyncCustomersOperator,
            ThredfiSyncVendorsOperator,
        )
        from thredfi_provider.operators.payments import ThredfiSyncPaymentsOperator

        syncs: tuple[type[ThredfiSyncOperator[Any]], ...] = (
            ThredfiSyncBusinessesOperator, ThredfiSyncCustomersOperator, ThredfiSyncVendorsOperator,
            ThredfiSyncInvoicesOperator, ThredfiSyncPaymentsOperator, ThredfiSyncBillsOperator,
            ThredfiSyncBillPaymentsOperator,
        )  # fmt: skip
        return next(op for op in syncs if op.resource.name == self.resource)

    def execute(self, context: Context) -> Any:
        from thredfi_provider.compat import AirflowFailException

        with task_state_from_errors():
            report = self.reconcile(context)
        if self.report_path:
            self._write(report)
        self.lineage_facts = {
            "base_url": self.client().settings.base_url, "read_only": True, "source": self.records,
            "resource_path": self._sync_class().resource.path, "files": [self.report_path],
            "written": dict.fromkeys(report["businesses"], 0),
        }  # fmt: skip
        self.log.info("Thredfi %s reconciliation: %s", self.resource, json.dumps(report["summary"]))
        if not report["complete"]:
            unmatched = report["summary"]["unverifiable"]
            self.log.warning(
                "Thredfi %s reconciliation is incomplete: %d source records cannot be matched, because "
                "Thredfi's read of them carries no external_id", self.resource, unmatched,
            )  # fmt: skip
        if self.fail_on_drift and not report["clean"]:
            raise AirflowFailException(f"Thredfi {self.resource} drift: {json.dumps(report['summary'])}")
        return _bounded(report)

    def reconcile(self, context: Context) -> dict[str, Any]:
        from thredfi_provider.client.errors import ThredfiRecordError
        from thredfi_provider.client.parsing import parse_record, record_label
        from thredfi_provider.operators._sync.lookups import BusinessLookups

        sync = self._sync_class()
        model = sync.model()
        client = self.client()
        grouped: dict[str, list[tuple[str, RecordModel]]] = {}
        invalid: list[dict[str, str]] = []
        for index, raw in enumerate(load_records(self.records, context)):
            label = record_label(raw, index)
            try:
                record = parse_record(model, raw, index)
            except ThredfiRecordError as exc:
                invalid.append({"external_id": label, "field": exc.field, "problem": exc.problem})
                continue
            grouped.setdefault(record.business_id or self.business_id or "", []).append((label, record))
        businesses = {
            business_id: self._business(sync, BusinessLookups(client, business_id, prefer_index=True), items)
            for business_id, items in grouped.items()
        }
        summary = {
            key: sum(len(b[key]) for b in businesses.values())
            for key in ("missing", "extra", "differs", "duplicates", "unresolved", "unverifiable")
        }
        summary["invalid"] = len(invalid)
        summary["source"] = sum(b["counts"]["source"] for b in businesses.values())
        summary["thredfi"] = sum(b["counts"]["thredfi"] for b in businesses.values())
        return {
            "clean": not any(
                (
                    summary["missing"],
                    summary["extra"],
                    summary["differs"],
                    summary["duplicates"],
                    summary["unresolved"],
                    invalid,
                )
            ),
            # No drift found is not everything compared: records Thredfi's read does not name
            # (a payment's published read has no external_id) are counted as unverifiable.
            "complete": not summary["unverifiable"],
            "resource": self.resource,
            "window": {"start": self.window_start, "end": self.window_end},
            "summary": summary,
            "invalid": invalid,
            "businesses": businesses,
        }

    def _business(
        self, sync: type[ThredfiSyncOperator[Any]], lookups: BusinessLookups, items: list[tuple[str, Any]]
    ) -> dict[str, Any]:
        from thredfi_provider.client.compare import differences, is_unknown
        from thredfi_provider.client.errors import ThredfiRecordError

        held_index = lookups.businesses() if sync.resource is BUSINESS else lookups.index(sync.resource.path)
        held_all = [r for r in held_index.by_external_id.values() if self._in_window(r)]
        report: dict[str, Any] = {
            "missing": [], "extra": [], "differs": [], "unresolved": [], "unverifiable": [],
            "duplicates": sorted(set(held_index.duplicates)),
        }  # fmt: skip
        totals: dict[str, dict[str, int]] = {}
        seen: set[str] = set()
        for label, record in items:
            seen.add(record.external_id)
            try:
                payload = sync.render(lookups, label, record)
            except ThredfiRecordError as exc:
                report["unresolved"].append(
                    {"external_id": label, "field": exc.field, "problem": exc.problem}
                )
                continue
            held = held_index.by_external_id.get(record.external_id)
            _add(totals, lookups, "source", _amount(record, payload))
            if held is None:
                if held_index.anonymous:  # Thredfi's read names no external_id: cannot say missing
                    report["unverifiable"].append(record.external_id)
                elif not getattr(record, "cancelled", False) and not getattr(record, "archived", False):
                    report["missing"].append(record.external_id)
                continue
            fields = {
                name: {"thredfi": pair[0], "source": pair[1]}
                for name, pair in differences(sync.resource, payload, held).items()
                if not is_unknown(pair[0])
            }
            fields.update(_state_drift(record, held))
            if fields:
                report["differs"].append({"external_id": record.external_id, "fields": fields})
        for held in held_all:
            _add(totals, lookups, "thredfi", _held_amount(held))
            if held.get("external_id") not in seen:
                report["extra"].append({"external_id": held.get("external_id"), "id": held.get("id")})
        report["counts"] = {"source": len(items), "thredfi": len(held_all) + held_index.anonymous}
        report["totals"] = totals
        return report

    def _in_window(self, held: Record) -> bool:
        field = resolve(self.resource).date_field
        if field is None or not (self.window_start or self.window_end):
            return True
        day = str(held.get(field) or held.get("issue_date") or "")[:10]
        if not day:
            return True
        return (not self.window_start or day >= str(self.window_start)[:10]) and (
            not self.window_end or day < str(self.window_end)[:10]
        )

    def _write(self, report: dict[str, Any]) -> None:
        from thredfi_provider.compat import ObjectStoragePath

        path = ObjectStoragePath(str(self.report_path), conn_id=self.report_conn_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, sort_keys=True, default=str))
        self.log.info("Thredfi reconciliation report written to %s", path)


def _state_drift(record: Any, held: Record) -> dict[str, Any]:
    """A cancelled source invoice must be void in Thredfi; an archived customer archived."""
    if getattr(record, "cancelled", False) and not INVOICE.is_void(held):
        return {"status": {"thredfi": INVOICE.status_of(held), "source": "cancelled"}}
    if getattr(record, "archived", False) and not CUSTOMER.is_archived(held):
        return {"archived": {"thredfi": False, "source": True}}
    return {}


def _amount(record: Any, payload: dict[str, Any]) -> int | None:
    if getattr(record, "cancelled", False):
        return None
    for name in ("total_amount_cents", "amount_cents"):
        if isinstance(payload.get(name), int):
            return int(payload[name])
    total = getattr(record, "total_cents", None)
    return int(total) if total is not None else None


def _held_amount(held: Record) -> int | None:
    if INVOICE.is_void(held):
        return None
    for name in ("total_amount_cents", "amount_cents"):
        if isinstance(held.get(name), int):
            return int(held[name])
    return None


def _add(totals: dict[str, dict[str, int]], lookups: BusinessLookups, side: str, cents: int | None) -> None:
    if cents is None:
        return
    currency = lookups.currency if lookups.business_id else "?"
    bucket = totals.setdefault(currency or "?", {"source": 0, "thredfi": 0})
    bucket[side] += cents


def _bounded(report: dict[str, Any]) -> dict[str, Any]:
    """The XCom copy: every list cut to MAX_LISTED entries (the file has them all)."""
    for business in report["businesses"].values():
        for key in ("missing", "extra", "differs", "unresolved"):
            if len(business[key]) > MAX_LISTED:
                business[f"{key}_truncated"] = len(business[key])
                business[key] = business[key][:MAX_LISTED]
    return report
