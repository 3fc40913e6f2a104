"""The distributed run's exactly-once check, on made-up data: no services, milliseconds.

``scripts/deployment/verification.py`` decides whether ``make demo-distributed`` (and
``tests/test_distributed.py``) passes. Fed a Thredfi that holds a duplicate, lacks a record, has
a wrong amount and a record the source never had, it must report each one, and call the run exact
only when Thredfi holds exactly the source's records.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _verification() -> Any:
    """``scripts/deployment/verification.py`` (the scripts are not an installed package)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        return importlib.import_module("deployment.verification")
    finally:
        sys.path.remove(str(ROOT / "scripts"))


verification = _verification()

SOURCE = {
    "biz-a": {
        "invoices": {"scale-inv-1": 1000, "scale-inv-2": 2000},
        "payments": {"scale-pay-1": 1000},
    },
    "biz-b": {
        "invoices": {"scale-inv-3": 3000},
        "payments": {"scale-pay-2": 1500, "scale-pay-3": 1500},
    },
}


def thredfi_holding(
    source: dict[str, dict[str, dict[str, int]]],
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """What Thredfi lists for each business and resource when it holds exactly ``source``."""
    return {
        (business, resource): [
            {"external_id": ext, amount_key: cents} for ext, cents in records[kind].items()
        ]
        for business, records in source.items()
        for kind, resource, amount_key in (
            ("invoices", "invoices", "total_amount_cents"),
            ("payments", "invoices/payments", "amount_cents"),
        )
    }


class FakeClient:
    """The one call the check makes: ``list_records(business_id, resource)``."""

    def __init__(self, held: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
        self.held = held
        self.calls: list[tuple[str, str]] = []

    def list_records(self, business_id: str, resource: str) -> list[dict[str, Any]]:
        self.calls.append((business_id, resource))
        return list(self.held[business_id, resource])


def check(held: dict[tuple[str, str], list[dict[str, Any]]]) -> dict[str, Any]:
    return verification.check_exactly_once(FakeClient(held), SOURCE, threads=2)


def test_thredfi_holding_exactly_the_source_is_exact():
    client = FakeClient(thredfi_holding(SOURCE))
    report = verification.check_exactly_once(client, SOURCE, threads=2)

    assert report["exact"] is True
    assert report["businesses"] == 2
    assert report["invoices"] == {"expected": 3, "found": 3, "duplicates": 0, "missing": 0, "unexpected": 0,
                                  "amount_mismatches": 0}  # fmt: skip
    assert report["payments"] == {"expected": 3, "found": 3, "duplicates": 0, "missing": 0, "unexpected": 0,
                                  "amount_mismatches": 0}  # fmt: skip
    assert sorted(client.calls) == sorted(
        (b, r) for b in SOURCE for r in ("invoices", "invoices/payments")
    ), "every business, both resources"


def test_a_duplicate_is_reported():
    held = thredfi_holding(SOURCE)
    held["biz-a", "invoices"].append({"external_id": "scale-inv-2", "total_amount_cents": 2000})

    report = check(held)

    assert report["invoices"]["duplicates"] == 1
    assert report["invoices"]["found"] == 4
    assert report["invoices"]["missing"] == report["invoices"]["amount_mismatches"] == 0
    assert report["payments"]["duplicates"] == 0
    assert report["exact"] is False


def test_a_missing_record_is_reported():
    held = thredfi_holding(SOURCE)
    held["biz-b", "invoices/payments"] = [
        r for r in held["biz-b", "invoices/payments"] if r["external_id"] != "scale-pay-3"
    ]

    report = check(held)

    assert report["payments"]["missing"] == 1
    assert report["payments"]["found"] == report["payments"]["expected"] - 1
    assert report["payments"]["duplicates"] == report["payments"]["unexpected"] == 0
    assert report["exact"] is False


def test_a_wrong_amount_is_reported():
    held = thredfi_holding(SOURCE)
    held["biz-b", "invoices"] = [{"external_id": "scale-inv-3", "total_amount_cents": 3001}]

    report = check(held)

    assert report["invoices"]["amount_mismatches"] == 1
    assert report["invoices"]["found"] == report["invoices"]["expected"]
    assert report["invoices"]["duplicates"] == report["invoices"]["missing"] == 0
    assert report["exact"] is False


def test_a_record_the_source_never_had_is_reported():
    held = thredfi_holding(SOURCE)
    held["biz-a", "invoices/payments"].append({"external_id": "scale-pay-99", "amount_cents": 5})

    report = check(held)

    assert report["payments"]["unexpected"] == 1
    assert report["exact"] is False


def test_all_at_once_each_is_counted_once():
    held = thredfi_holding(SOURCE)
    held["biz-a", "invoices"].append({"external_id": "scale-inv-1", "total_amount_cents": 1000})
    held["biz-a", "invoices/payments"] = []  # scale-pay-1 missing
    held["biz-b", "invoices/payments"][0]["amount_cents"] = 1  # scale-pay-2 with a wrong amount

    report = check(held)

    assert (report["invoices"]["duplicates"], report["payments"]["missing"]) == (1, 1)
    assert report["payments"]["amount_mismatches"] == 1
    assert report["invoices"]["missing"] == report["payments"]["duplicates"] == 0
    assert report["exact"] is False


def summary(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "check": {"exact": True},
        "faults": {"kill": {}, "restart": {}, "outage": {"restarted": {}}},
        "bulk": {"state": "success"},
        "daily": {
            "runs": {"scheduled:success": 2, "backfill:success": 2},
            "days_covered_by_a_successful_run": 4,
        },
    }
    return {**base, **overrides}


@pytest.mark.parametrize(
    ("overrides", "ok"),
    [
        ({}, True),
        ({"check": {"exact": False}}, False),
        ({"faults": {"outage": {"restarted": {}}}}, False),  # the worker was never killed
        # the sandbox never came back
        ({"faults": {"kill": {}, "restart": {}, "outage": {"phase": "x"}}}, False),
        ({"bulk": {"state": "failed"}}, False),
        ({"daily": {"runs": {"backfill:failed": 1}, "days_covered_by_a_successful_run": 4}}, False),
        ({"daily": {"runs": {"backfill:success": 3}, "days_covered_by_a_successful_run": 3}}, False),
    ],
)
def test_the_run_succeeds_only_when_exact_with_both_faults_and_every_run_green(overrides, ok):
    assert verification.succeeded(summary(**overrides), kill_worker=True, sandbox_outage=True, days=4) is ok
