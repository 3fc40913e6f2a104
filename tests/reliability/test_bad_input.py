"""Malformed records: each is refused with a message naming the record and the field; the good
records in the same batch still land; nothing crashes and nothing is sent for a refused record."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.helpers.operators import run
from tests.helpers.reliability import business_with_customers

# These tests exercise the deprecated names on purpose (tests/operators/test_deprecations.py checks
# each warns); elsewhere the provider's deprecation warnings are errors (pyproject.toml).
pytestmark = pytest.mark.filterwarnings(
    "ignore:Thredfi.* is deprecated and will be removed in:DeprecationWarning"
)

HUGE = "x" * 10_240


def good_invoice(n: int) -> dict[str, Any]:
    return {
        "external_id": f"inv-{n}", "customer_external_id": "cust-1", "invoice_number": f"N-{n}",
        "sent_at": "2024-03-01", "due_at": "2024-03-31",
        "line_items": [{"description": "Work", "quantity": 2, "unit_price_cents": 1500, "account_code": "4000"}],
    }  # fmt: skip


def _set(path: str, value: Any) -> Any:
    """A mutation that sets ``a.b[0].c`` (or deletes it when value is ``DELETE``)."""

    def apply(record: dict[str, Any]) -> None:
        parts = path.replace("[", ".").replace("]", "").split(".")
        target: Any = record
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        last = parts[-1]
        if value is DELETE:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value

    return apply


DELETE = object()

# (case, mutation, the field the error must name)
INVOICE_CASES: list[tuple[str, Any, str]] = [
    ("missing external_id", _set("external_id", DELETE), "external_id"),
    ("empty external_id", _set("external_id", ""), "external_id"),
    ("numeric external_id", _set("external_id", 12345), "external_id"),
    ("10 kB external_id", _set("external_id", HUGE), "external_id"),
    ("missing customer", _set("customer_external_id", DELETE), "record"),
    ("unknown customer", _set("customer_external_id", "cust-404"), "customer_external_id"),
    (
        "unknown customer id",
        lambda r: (r.pop("customer_external_id"), r.update(customer_id="0000-none")),
        "customer_id",
    ),
    ("missing line_items", _set("line_items", DELETE), "line_items"),
    ("empty line_items", _set("line_items", []), "line_items"),
    ("line_items not a list", _set("line_items", "Work"), "line_items"),
    ("line item not a mapping", _set("line_items[0]", "Work"), "line_items[0]"),
    ("float cents", _set("line_items[0].unit_price_cents", 15.5), "line_items[0].unit_price_cents"),
    (
        "float cents that look whole",
        _set("line_items[0].unit_price_cents", 15.0),
        "line_items[0].unit_price_cents",
    ),
    ("string cents", _set("line_items[0].unit_price_cents", "1500"), "line_items[0].unit_price_cents"),
    ("bool cents", _set("line_items[0].unit_price_cents", True), "line_items[0].unit_price_cents"),
    ("null cents", _set("line_items[0].unit_price_cents", None), "line_items[0].unit_price_cents"),
    ("negative cents", _set("line_items[0].unit_price_cents", -100), "line_items[0].unit_price_cents"),
    ("huge cents", _set("line_items[0].unit_price_cents", 10**15), "line_items[0].unit_price_cents"),
    ("missing cents", _set("line_items[0].unit_price_cents", DELETE), "line_items[0].unit_price_cents"),
    ("zero quantity", _set("line_items[0].quantity", 0), "line_items[0].quantity"),
    ("negative quantity", _set("line_items[0].quantity", -1), "line_items[0].quantity"),
    ("string quantity", _set("line_items[0].quantity", "2"), "line_items[0].quantity"),
    ("huge quantity", _set("line_items[0].quantity", 10**9), "line_items[0].quantity"),
    ("negative discount", _set("line_items[0].discount_cents", -5), "line_items[0].discount_cents"),
    ("typo in a line field", _set("line_items[0].unit_prise_cents", 10), "line_items[0].unit_prise_cents"),
    ("typo in a field", _set("ammount_cents", 10), "ammount_cents"),
    ("bad date", _set("sent_at", "2024-02-30"), "sent_at"),
    ("not a date", _set("sent_at", "yesterday"), "sent_at"),
    ("date as number", _set("due_at", 20240301), "due_at"),
    ("US date", _set("due_at", "03/31/2024"), "due_at"),
    ("unknown currency", _set("currency", "XYZ"), "currency"),
    ("currency not a string", _set("currency", 826), "currency"),
    ("currency differs from the business", _set("currency", "EUR"), "currency"),
    ("10 kB memo", _set("memo", HUGE), "memo"),
    ("10 kB description", _set("line_items[0].description", HUGE), "line_items[0].description"),
    ("10 kB invoice number", _set("invoice_number", HUGE), "invoice_number"),
    ("account code too long", _set("line_items[0].account_code", "4" * 50), "line_items[0].account_code"),
    ("metadata not a mapping", _set("metadata", ["a"]), "metadata"),
]


def test_forty_malformed_records_are_each_refused_by_name_while_good_ones_land(thredfi_sandbox, fast_conn):
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator

    business_id = business_with_customers(thredfi_sandbox)
    fast_conn(thredfi_sandbox)
    records: list[Any] = []
    expected: dict[str, str] = {}
    for n, (_case, mutate, field) in enumerate(INVOICE_CASES):
        record = good_invoice(1000 + n)
        mutate(record)
        records.append(record)
        records.append(good_invoice(n))  # a good record beside every bad one
        label = (
            record.get("external_id")
            if isinstance(record.get("external_id"), str) and record.get("external_id")
            else f"#{2 * n}"
        )
        expected[label[:80]] = field
    # Not even a mapping, and a duplicate external_id inside one batch:
    records += [["not", "a", "record"], "inv-text", None, good_invoice(0)]
    expected.update(
        {f"#{len(records) - 4}": "record", f"#{len(records) - 3}": "record", f"#{len(records) - 2}": "record"}
    )
    unicode_good = good_invoice(9999) | {"memo": "Café, 請求書, Ærø 🧾", "invoice_number": "Ñ-9999"}
    records.append(unicode_good)

    requests_before = thredfi_sandbox.counter("requests")
    summary, ti = run(
        ThredfiSyncInvoicesOperator(
            task_id="s", business_id=business_id, records=records, fail_on_error=False
        )
    )

    good = {r["external_id"] for r in records[1::2][: len(INVOICE_CASES)]} | {"inv-9999"}
    assert summary["created"] == len(good)
    assert set(summary["ids"]) == good
    failed = {f["external_id"]: f for f in summary["failed"]}
    duplicate = failed.pop("inv-0")  # the second inv-0 in the batch
    assert duplicate["field"] == "external_id"
    assert "duplicate" in duplicate["error"]
    assert len(failed) == len(expected) >= 40
    for label, field in expected.items():
        entry = failed[label]
        assert entry["field"] == field, (label, entry)
        assert f"record '{label}'" in entry["error"], entry
        assert f"field '{field}'" in entry["error"], entry
        assert len(entry["error"]) < 600, "an error message must not echo a 10 kB value"
        assert entry["retryable"] is False
    # Refused records cost no writes: the only POSTs are the good invoices.
    in_thredfi = {i["external_id"]: i for i in thredfi_sandbox.records("invoices", business_id)}
    assert set(in_thredfi) == good
    assert in_thredfi["inv-9999"]["memo"] == "Café, 請求書, Ærø 🧾"
    assert thredfi_sandbox.counter("requests") - requests_before < len(good) + 10
    assert "summary" not in ti.xcom  # returned once, not stored twice


PAYMENT_CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "over-allocation",
        {"amount_cents": 1000, "allocations": [{"invoice_external_id": "inv-1", "amount_cents": 1001}]},
        "record",
    ),
    ("float amount", {"amount_cents": 10.5}, "amount_cents"),
    ("zero amount", {"amount_cents": 0}, "amount_cents"),
    (
        "unknown invoice",
        {"allocations": [{"invoice_external_id": "inv-404", "amount_cents": 100}]},
        "allocations[0]",
    ),
    ("bad payment date", {"payment_date": "2024-13-01"}, "payment_date"),
    ("unknown method", {"payment_method": "barter"}, "payment_method"),
    ("fee above amount", {"amount_cents": 100, "processing_fee_cents": 200, "allocations": []}, "record"),
]


@pytest.mark.parametrize(("case", "change", "field"), PAYMENT_CASES, ids=[c[0] for c in PAYMENT_CASES])
def test_malformed_payments_are_refused_by_name_and_good_ones_land(
    thredfi_sandbox, fast_conn, case, change, field
):
    from thredfi_provider.operators.invoices import ThredfiSyncInvoicesOperator
    from thredfi_provider.operators.payments import ThredfiRecordPaymentsOperator

    business_id = business_with_customers(thredfi_sandbox)
    fast_conn(thredfi_sandbox)
    run(
        ThredfiSyncInvoicesOperator(
            task_id="i", business_id=business_id, records=[good_invoice(1), good_invoice(2)]
        )
    )
    good = {"external_id": "pay-good", "amount_cents": 3000, "payment_date": "2024-03-05",
            "allocations": [{"invoice_external_id": "inv-2", "amount_cents": 3000}]}  # fmt: skip
    bad = copy.deepcopy(good) | {"external_id": "pay-bad"} | change
    if "allocations" not in change:
        bad["allocations"] = [
            {"invoice_external_id": "inv-1", "amount_cents": min(bad.get("amount_cents", 1), 1000)}
        ]
    summary, _ = run(
        ThredfiRecordPaymentsOperator(
            task_id="p", business_id=business_id, records=[bad, good], fail_on_error=False
        )
    )
    assert summary["created"] == 1
    assert list(summary["ids"]) == ["pay-good"]
    [failure] = summary["failed"]
    assert failure["external_id"] == "pay-bad"
    assert failure["field"] == field
    assert "record 'pay-bad'" in failure["error"]
    assert [p["external_id"] for p in thredfi_sandbox.records("payments", business_id)] == ["pay-good"]
