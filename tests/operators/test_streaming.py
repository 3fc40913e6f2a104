"""Streaming batches and a bounded XCom: big sources flow through in chunks, the XCom stays small.

Against the default sandbox over HTTP; the XCom thresholds are lowered so a few dozen records
exercise the large-batch form that a real run reaches at a few thousand. The pieces underneath
(the batch summary, the runner, the scratch sets, report storage) each have their own file in
``tests/operators/sync/``.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from tests.helpers import business_with_parties, make_client
from tests.helpers.operators import invoice, run
from thredfi_provider.operators._sync import batch_summary as summary_module
from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
from thredfi_provider.operators.parties import ThredfiSyncCustomersOperator
from thredfi_provider.operators.sources import SqlRecords
from thredfi_provider.operators.summary import iter_outcomes, read_ids


@pytest.fixture
def box(thredfi_sandbox, fast_conn):
    fast_conn(thredfi_sandbox)
    return thredfi_sandbox, business_with_parties(thredfi_sandbox)


def creates(sandbox) -> int:
    return sum(1 for _ in sandbox.records("invoices"))


def test_a_generator_source_is_read_a_chunk_at_a_time(box):
    """Record k is pulled only once the records a chunk and a window before it were sent."""
    sandbox, business_id = box
    sent_when_pulled: list[int] = []

    def records():
        for n in range(60):
            sent_when_pulled.append(creates(sandbox))
            yield invoice(n)

    summary, _ = run(
        ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=records, chunk_size=10,
                                    max_workers=2)
    )  # fmt: skip
    assert summary["created"] == 60
    # Chunk c (records 10c..10c+9) is read after chunk c-1 was sent in full.
    for n in range(10, 60):
        assert sent_when_pulled[n] >= (n // 10) * 10, (n, sent_when_pulled[n])


def test_a_duplicate_external_id_is_refused_across_chunks_too(box):
    _, business_id = box
    records = [invoice(n) for n in range(12)] + [invoice(3, cents=999)]
    summary, _ = run(
        ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=records, chunk_size=5,
                                    fail_on_error=False)
    )  # fmt: skip
    assert summary["created"] == 12
    [failure] = summary["failed"]
    assert (failure["external_id"], failure["field"]) == ("inv-3", "external_id")
    assert "duplicate" in failure["error"]


def test_a_large_batch_puts_its_report_in_storage_and_read_ids_reads_it(box, tmp_path, monkeypatch):
    monkeypatch.setattr(summary_module, "INLINE_RECORDS", 20)
    sandbox, business_id = box
    records = [invoice(n) for n in range(45)] + [invoice(99, customer_external_id="nobody")]
    op = ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=records,
                                     details_path=str(tmp_path / "reports"), max_failures=1)  # fmt: skip
    summary, _ = run(op)
    assert summary["truncated"] is True
    assert "ids" not in summary
    assert (summary["created"], summary["failed_count"]) == (45, 1)
    assert summary["details"].startswith("file://")
    assert str(tmp_path) in summary["details"]
    held = {r["external_id"]: r["id"] for r in sandbox.records("invoices", business_id)}
    assert read_ids(summary) == held
    failed = [line for line in iter_outcomes(summary) if line["state"] == "failed"]
    assert [(f["external_id"], f["field"]) for f in failed] == [("inv-99", "customer_external_id")]
    # A rerun: every record unchanged, the same ids, no new invoice.
    again, _ = run(op)
    assert (again["unchanged"], again["created"]) == (45, 0)
    assert read_ids(again) == held
    assert len(sandbox.records("invoices", business_id)) == 45


def test_a_small_batch_keeps_the_inline_form(box):
    _, business_id = box
    summary, _ = run(ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=[invoice(1)]))
    assert "details" not in summary
    assert list(summary["ids"]) == ["inv-1"]
    assert read_ids(summary) == summary["ids"]


def test_a_sql_source_is_templated_and_streamed(box, tmp_path, monkeypatch):
    _sandbox, business_id = box
    db = tmp_path / "source.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE inv (external_id TEXT, day TEXT, cents INTEGER)")
        conn.executemany("INSERT INTO inv VALUES (?, ?, ?)",
                         [(f"inv-{n}", "2024-03-0" + str(1 + n % 2), 100 + n) for n in range(30)])  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(db)}))

    def to_invoices(rows: Any):
        for row in rows:
            yield invoice(int(row["external_id"][4:]), cents=row["cents"])

    source = SqlRecords(conn_id="warehouse", sql="SELECT * FROM inv WHERE day = '{{ ds }}'", fetch_size=4)
    op = ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=source, chunk_size=7)
    op.render_template_fields({"ds": "2024-03-02"})  # type: ignore[arg-type]
    assert source.sql == "SELECT * FROM inv WHERE day = '2024-03-02'"
    rows = list(source)
    assert len(rows) == 15
    assert set(rows[0]) == {"external_id", "day", "cents"}
    op.records = list(to_invoices(rows))
    summary, _ = run(op)
    assert summary["created"] == 15
    # The source object itself drives a sync too (rows are dicts with the source's columns).
    customers = SqlRecords(
        conn_id="warehouse",
        sql="SELECT external_id AS external_id, 'Customer ' || external_id AS company_name FROM inv LIMIT 3",
    )
    summary, _ = run(ThredfiSyncCustomersOperator(task_id="c", business_id=business_id, records=customers))
    assert summary["created"] == 3


def test_a_failing_large_batch_still_publishes_its_report_and_names_it(box, tmp_path, monkeypatch):
    from thredfi_provider.compat import AirflowFailException

    monkeypatch.setattr(summary_module, "INLINE_RECORDS", 5)
    _, business_id = box
    records = [invoice(n) for n in range(8)] + [invoice(9, customer_external_id="nobody")]
    op = ThredfiSyncInvoicesOperator(
        task_id="s", business_id=business_id, records=records, details_path=str(tmp_path / "r")
    )
    with pytest.raises(AirflowFailException, match="every record's outcome: file://") as failure:
        run(op)
    path = str(failure.value).rsplit("every record's outcome: ", 1)[1].rstrip(")")
    states = [line["state"] for line in iter_outcomes({"details": path})]
    assert states.count("created") == 8
    assert states.count("failed") == 1


def test_the_deprecated_summary_push_keeps_every_id_in_a_large_batch(box, tmp_path, monkeypatch):
    from thredfi_provider.operators.parties import ThredfiUpsertCustomersOperator

    monkeypatch.setattr(summary_module, "INLINE_RECORDS", 3)
    _, business_id = box
    records = [{"external_id": f"c-{n}", "company_name": f"C {n}"} for n in range(6)]
    with pytest.warns(DeprecationWarning, match="ThredfiSyncCustomersOperator"):
        op = ThredfiUpsertCustomersOperator(
            task_id="c", business_id=business_id, records=records, details_path=str(tmp_path)
        )
    returned, ti = run(op)
    assert sorted(returned) == [f"c-{n}" for n in range(6)]
    pushed = ti.xcom["summary"]
    assert pushed["truncated"] is True
    assert pushed["ids"] == returned
    assert read_ids(pushed) == returned


def test_a_storage_fault_does_not_fail_a_sync_that_landed(box, monkeypatch):
    monkeypatch.setattr(summary_module, "INLINE_RECORDS", 2)
    sandbox, business_id = box
    records = [invoice(n) for n in range(4)]
    op = ThredfiSyncInvoicesOperator(
        task_id="s", business_id=business_id, records=records, details_path="nosuchscheme://x/"
    )
    summary, _ = run(op)
    assert summary["created"] == 4
    assert "details" not in summary
    assert summary["details_error"]
    with pytest.raises(ValueError, match="names no details report"):
        read_ids(summary)
    assert len(sandbox.records("invoices", business_id)) == 4


def test_mapped_instances_and_tries_never_share_a_report_file(box, tmp_path, monkeypatch):
    from tests.helpers.operators import StubDagRun, StubTaskInstance

    monkeypatch.setattr(summary_module, "INLINE_RECORDS", 1)
    _, business_id = box
    paths = set()
    for map_index, try_number in ((0, 1), (1, 1), (0, 2)):
        ti = StubTaskInstance()
        ti.map_index, ti.try_number = map_index, try_number  # type: ignore[attr-defined]
        op = ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=[invoice(1), invoice(2)],
                                         details_path=str(tmp_path / "report.jsonl"))  # fmt: skip
        summary = op.execute({"ti": ti, "dag_run": StubDagRun(None)})  # type: ignore[arg-type]
        paths.add(summary["details"])
    assert len(paths) == 3


def test_a_sync_and_its_rerun_work_from_a_spilled_index(box, monkeypatch):
    """Held records past the memory budget go to disk (``tests/operators/sync/test_scratch.py``);
    a whole sync and rerun work from such an index."""
    from thredfi_provider.operators._sync import scratch as packed_module
    from thredfi_provider.operators._sync.lookups import BusinessLookups

    monkeypatch.setattr(packed_module, "MEMORY_BUDGET", 20_000)
    sandbox, business_id = box
    synced = [invoice(n) for n in range(40)]
    run(ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=synced))
    synced[5] = invoice(5, cents=123)
    summary, _ = run(ThredfiSyncInvoicesOperator(task_id="s", business_id=business_id, records=synced))
    assert (summary["updated"], summary["unchanged"]) == (1, 39)
    held = BusinessLookups(make_client(sandbox), business_id).index("invoices")
    assert held.by_external_id.spilled
    assert held.by_external_id["inv-5"]["id"] == summary["ids"]["inv-5"]
