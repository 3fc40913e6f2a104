"""The batch summary (``operators/_sync/batch_summary.py``): counts, inline outcomes, a bounded XCom."""

from __future__ import annotations

import json

from thredfi_provider.client.errors import ThredfiRecordError
from thredfi_provider.operators._sync.batch_summary import MAX_XCOM_BYTES, BatchSummary
from thredfi_provider.operators._sync.record_outcome import Outcome
from thredfi_provider.operators.summary import iter_outcomes


class BigError(ThredfiRecordError):
    pass


def test_the_xcom_stays_under_64_kb_whatever_the_count_and_the_messages():
    summary = BatchSummary()
    huge = {"line_items": [{"description": "x" * 2_000}] * 5}
    for n in range(20_000):
        label = f"inv-{n:06d}-" + "y" * 60
        if n % 10 == 0:
            summary.fail(label, BigError(label, "line_items", "z" * 3_000), "biz")
        elif n % 10 == 1:
            summary.record(label, "biz", Outcome("conflict", f"id-{n}", field="line_items", reason="r" * 2_000,
                                                 held=huge, sent=huge))  # fmt: skip
        else:
            summary.record(label, "biz", Outcome("created", f"id-{n}"))
    assert summary.ids == {}
    assert len(summary.failed) == len(summary.conflicts) == 10
    published: list[int] = []

    def publish(spool):
        published.append(sum(1 for _ in spool))
        return "file:///nowhere/report.jsonl"

    value = summary.to_xcom(publish)
    size = len(json.dumps(value).encode())
    assert size <= MAX_XCOM_BYTES, size
    assert published == [20_000]
    assert (value["total"], value["failed_count"], value["conflict_count"]) == (20_000, 2_000, 2_000)
    assert value["failed"]
    assert value["conflicts"]
    summary.close()


def test_inline_outcomes_say_which_records_conflicted_or_failed():
    summary = BatchSummary()
    summary.record("a", "b", Outcome("created", "id-a"))
    summary.record("c", "b", Outcome("conflict", "id-c", field="memo", reason="r"))
    summary.fail("f", ThredfiRecordError("f", "memo", "bad"))
    lines = list(iter_outcomes(summary.to_xcom()))
    assert [(line["external_id"], line["state"]) for line in lines] == [
        ("a", None),
        ("c", "conflict"),
        ("f", "failed"),
    ]
