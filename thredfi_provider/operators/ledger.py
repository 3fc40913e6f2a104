"""Export the general ledger for the run's data interval as JSON Lines, in constant memory."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from thredfi_provider.client.resources import JOURNAL_ENTRY
from thredfi_provider.hooks.task_state import task_state_from_errors
from thredfi_provider.operators.base_operator import ThredfiBaseOperator

if TYPE_CHECKING:
    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.compat import Context

ENTRY_FIELDS = ("id", "sequence_number", "entry_date", "reference", "description", "currency", "status",
                "source_type", "source_reference")  # fmt: skip


def interval_dates(context: Context) -> tuple[dt.date, dt.date]:
    """The run's data interval as inclusive dates; manual runs without one use ``run_after``."""
    start = context.get("data_interval_start")
    end = context.get("data_interval_end")
    if start is None or end is None:
        run_after = context["dag_run"].run_after
        return run_after.date(), run_after.date()
    last = end - dt.timedelta(microseconds=1) if end > start else end
    return start.date(), last.date()


class ThredfiExportLedgerOperator(ThredfiBaseOperator):
    """Stream journal lines (one JSON object per line) to a local path or any ObjectStoragePath.

    Pages are read lazily and written as they arrive, so memory stays flat whatever the size
    of the ledger. The file for an interval is rewritten on a rerun, never appended to.
    Returns ``{"path", "rows", "entries", "date_from", "date_to"}``.

    :param business_id: the business whose ledger to export.
    :param path: destination, e.g. ``file:///data/ledger/{{ ds }}.jsonl`` or ``s3://bucket/...``.
    :param date_from: first entry date (inclusive); default: the data interval's start.
    :param date_to: last entry date (inclusive); default: the day before the interval's end.
    :param reports: also write ``profit-and-loss`` (and/or ``balance-sheet``) beside the file.
    :param path_conn_id: object storage connection for ``path`` (e.g. an ``aws`` connection); every
        operator names its storage connection after its path argument (``details_conn_id``,
        ``state_conn_id``, ``report_conn_id``). ``conn_id`` is its deprecated name (removal in 2.0).

    .. seealso:: :doc:`/operators/ledger`
    """

    template_fields: Sequence[str] = ("thredfi_conn_id", "business_id", "path", "date_from", "date_to")

    def __init__(
        self,
        *,
        business_id: str,
        path: str,
        date_from: str | None = None,
        date_to: str | None = None,
        reports: Sequence[str] = (),
        path_conn_id: str | None = None,
        conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if conn_id is not None:
            from thredfi_provider.operators._deprecated import warn_deprecated

            warn_deprecated("ThredfiExportLedgerOperator(conn_id=...)", "path_conn_id=...",
                            why=", named like every operator's storage connection", stacklevel=4)  # fmt: skip
            path_conn_id = path_conn_id or conn_id
        self.business_id = business_id
        self.path = path
        self.date_from = date_from
        self.date_to = date_to
        self.reports = list(reports)
        self.path_conn_id = path_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from thredfi_provider.compat import ObjectStoragePath

        start, end = interval_dates(context)
        date_from = self.date_from or start.isoformat()
        date_to = self.date_to or end.isoformat()
        target = ObjectStoragePath(self.path, conn_id=self.path_conn_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        rows = entries = 0
        with task_state_from_errors():
            client = self.hook.get_conn()
            with target.open("w") as out:  # type: ignore[no-untyped-call]
                for entry in client.list_records(
                    self.business_id, JOURNAL_ENTRY, date_from=date_from, date_to=date_to
                ):
                    entries += 1
                    # One write per entry: file-like objects of remote stores pay per call.
                    lines = [
                        json.dumps(row, separators=(",", ":"))
                        for row in journal_rows(client, self.business_id, entry)
                    ]
                    out.write("".join(line + "\n" for line in lines))
                    rows += len(lines)
            for report in self.reports:
                params = (
                    {"start_date": date_from, "end_date": date_to}
                    if report != "balance-sheet"
                    else {"as_of_date": date_to}
                )
                body = client.report(self.business_id, report, **params)
                sibling = ObjectStoragePath(f"{self.path}.{report}.json", conn_id=self.path_conn_id)
                with sibling.open("w") as out:  # type: ignore[no-untyped-call]
                    json.dump(body, out)
        self.log.info("Exported %d journal lines from %d entries to %s", rows, entries, target)
        files = [str(target), *(f"{self.path}.{report}.json" for report in self.reports)]
        self.lineage_facts = {
            "base_url": client.settings.base_url, "resource_path": JOURNAL_ENTRY.path,
            "written": {self.business_id: rows}, "files": files, "read_only": True,
        }  # fmt: skip
        return {
            "path": str(target),
            "rows": rows,
            "entries": entries,
            "date_from": date_from,
            "date_to": date_to,
        }


def journal_rows(client: ThredfiClient, business_id: str, entry: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Flatten one entry into one row per line; fetch the detail only if the list omitted lines."""
    lines = entry.get("lines")
    if lines is None:
        lines = client.get(business_id, JOURNAL_ENTRY, str(entry["id"])).get("lines", [])
    head = {f"entry_{k}" if k == "id" else k: entry.get(k) for k in ENTRY_FIELDS}
    head["business_id"] = business_id
    for line in lines:
        yield {**head, **line}
