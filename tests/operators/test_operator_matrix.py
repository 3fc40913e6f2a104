"""Every batch operator through the same four trials, against the sandbox in its default mode
and in its strict mode (the published API to the letter: no undocumented filters, the API
reference's spellings only, DRF error bodies, 5-second tokens):

1. success, then a rerun with the same input creates nothing and reports every record unchanged;
2. a bad record among good ones is refused by name and field while the good ones land;
3. a business that belongs to another partner fails the task at once, permanently, writing nothing;
4. transient faults (5xx, 429, resets, responses dropped after commit) are retried without duplicates.

The ledger export, the generic operator and onboarding go through the trials that apply to them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from tests.helpers import onboard
from tests.helpers.operators import invoice, run
from thredfi_provider.client.client import ThredfiClient
from thredfi_provider.client.settings import ClientSettings
from thredfi_provider.sandbox.config import FaultConfig

PARTNER = "3f1c2b7a-9d4e-4c1a-8b2f-6e5d4c3b2a10"
OTHER_PARTNER = "8d2e4f6a-1b3c-4d5e-9f70-000000000002"
FAULTS = FaultConfig(error_rate=0.1, rate_limit_rate=0.05, retry_after=0.01, reset_rate=0.05,
                     drop_after_commit_rate=0.1, seed=11)  # fmt: skip


def _invoice_payment(n: int) -> dict[str, Any]:
    return {"external_id": f"pay-{n}", "amount_cents": 10_000, "payment_date": "2024-03-10",
            "allocations": [{"invoice_external_id": f"inv-{n}", "amount_cents": 10_000}]}  # fmt: skip


def _bill(n: int) -> dict[str, Any]:
    return {"external_id": f"bill-{n}", "vendor_external_id": "vend-1", "bill_date": "2024-03-02",
            "line_items": [{"description": "Hosting", "unit_price_cents": 9_900, "account_code": "6100"}]}  # fmt: skip


def _bill_payment(n: int) -> dict[str, Any]:
    return {"external_id": f"bp-{n}", "vendor_external_id": "vend-1", "amount_cents": 9_900,
            "payment_date": "2024-03-09", "allocations": [{"bill_external_id": f"bill-{n}", "amount_cents": 9_900}]}  # fmt: skip


@dataclass
class Case:
    operator: str  # class name in thredfi_provider.operators.*
    module: str
    kind: str  # sandbox record kind
    record: Callable[[int], dict[str, Any]]
    bad: dict[str, Any]  # changes that make record(99) invalid
    bad_field: str
    prerequisites: list[tuple[str, str, Callable[[int], dict[str, Any]]]] = field(default_factory=list)


CASES = [
    Case("ThredfiSyncCustomersOperator", "parties", "customers",
         lambda n: {"external_id": f"c-{n}", "company_name": f"Customer {n}"}, {"email": "not-an-email"}, "email"),
    Case("ThredfiSyncVendorsOperator", "parties", "vendors",
         lambda n: {"external_id": f"v-{n}", "company_name": f"Vendor {n}"}, {"credit_limit_cents": -1},
         "credit_limit_cents"),
    Case("ThredfiSyncInvoicesOperator", "invoices", "invoices", invoice, {"customer_external_id": "nobody"},
         "customer_external_id"),
    Case("ThredfiSyncPaymentsOperator", "payments", "payments", _invoice_payment, {"amount_cents": 10.0},
         "amount_cents", [("ThredfiSyncInvoicesOperator", "invoices", invoice)]),
    Case("ThredfiSyncBillsOperator", "bills", "bills", _bill, {"bill_date": "2024-02-31"}, "bill_date"),
    Case("ThredfiSyncBillPaymentsOperator", "bills", "bill_payments", _bill_payment,
         {"payment_method": "check"}, "record", [("ThredfiSyncBillsOperator", "bills", _bill)]),
]  # fmt: skip
IDS = [c.operator for c in CASES]
# What the other partner's business holds of each kind before any trial: its own customer and vendor.
FOREIGN_HELD = {"customers": ["cust-1"], "vendors": ["vend-1"]}


def _operator(name: str, module: str, **kwargs: Any) -> Any:
    import importlib

    return getattr(importlib.import_module(f"thredfi_provider.operators.{module}"), name)(
        task_id="t", **kwargs
    )


@pytest.fixture(params=["default", "strict"])
def two_partners(request, thredfi_sandbox_factory, fast_conn):
    """A sandbox with two partners; the connection is the first's. Returns (sandbox, own, foreign)."""
    sandbox = thredfi_sandbox_factory(
        partners={PARTNER: "sk_first_partner_key", OTHER_PARTNER: "sk_other_key"},
        strict=request.param == "strict",
    )
    fast_conn(sandbox)
    own_client = ThredfiClient(ClientSettings(sandbox.base_url, PARTNER, "sk_first_partner_key"))
    own = onboard(own_client, "own")
    own_client.create(own, "customers", {"external_id": "cust-1", "company_name": "Customer 1"})
    own_client.create(own, "vendors", {"external_id": "vend-1", "company_name": "Vendor 1"})
    other_client = ThredfiClient(ClientSettings(sandbox.base_url, OTHER_PARTNER, "sk_other_key"))
    foreign = onboard(other_client, "foreign")
    other_client.create(foreign, "customers", {"external_id": "cust-1", "company_name": "Theirs"})
    other_client.create(foreign, "vendors", {"external_id": "vend-1", "company_name": "Theirs"})
    return sandbox, own, foreign


def _prepare(case: Case, business_id: str, numbers: range) -> None:
    for name, module, make in case.prerequisites:
        run(_operator(name, module, business_id=business_id, records=[make(n) for n in numbers]))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_success_then_rerun_creates_nothing(two_partners, case):
    sandbox, own, _ = two_partners
    _prepare(case, own, range(3))
    before = len(sandbox.records(case.kind, own))
    records = [case.record(n) for n in range(3)]
    first, _ = run(_operator(case.operator, case.module, business_id=own, records=records))
    summary, _ = run(_operator(case.operator, case.module, business_id=own, records=records))
    assert (first["created"], first["failed"]) == (3, [])
    assert (summary["created"], summary["updated"], summary["unchanged"], summary["failed"]) == (0, 0, 3, [])
    assert summary["ids"] == first["ids"]
    assert len(sandbox.records(case.kind, own)) == before + 3


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_bad_record_among_good_ones_is_named_and_the_rest_land(two_partners, case):
    sandbox, own, _ = two_partners
    _prepare(case, own, range(3))
    before = len(sandbox.records(case.kind, own))
    bad = case.record(99) | case.bad
    records = [case.record(0), bad, case.record(1), case.record(2)]
    summary, _ = run(
        _operator(case.operator, case.module, business_id=own, records=records, fail_on_error=False)
    )
    assert summary["created"] == 3
    [failure] = summary["failed"]
    assert failure["external_id"] == bad["external_id"]
    assert failure["field"] == case.bad_field
    assert f"record '{bad['external_id']}'" in failure["error"]
    assert len(sandbox.records(case.kind, own)) == before + 3
    with pytest.raises(AirflowFailException, match=bad["external_id"]):  # the default policy fails the task
        run(_operator(case.operator, case.module, business_id=own, records=[bad]))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_another_partners_business_fails_permanently_and_writes_nothing(two_partners, case):
    sandbox, _, foreign = two_partners
    held_before = sandbox.records(case.kind, foreign)
    requests_before = sandbox.counter("requests")
    with pytest.raises(AirflowFailException):
        run(_operator(case.operator, case.module, business_id=foreign, records=[case.record(0)]))
    # Exactly what the other partner made (the fixture's cust-1 and vend-1), nothing of ours, unchanged.
    assert [r["external_id"] for r in sandbox.records(case.kind, foreign)] == FOREIGN_HELD.get(case.kind, [])
    assert sandbox.records(case.kind, foreign) == held_before
    assert sandbox.counter("requests") - requests_before <= 4, "a permanent error must not be retried"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_transient_faults_are_retried_without_duplicates(two_partners, case):
    sandbox, own, _ = two_partners
    _prepare(case, own, range(20))
    before = {r["external_id"] for r in sandbox.records(case.kind, own)}
    sandbox.set_faults(FAULTS)
    records = [case.record(n) for n in range(20)]
    summary, _ = run(_operator(case.operator, case.module, business_id=own, records=records))
    sandbox.set_faults()
    assert summary["failed"] == []
    # created, not "unchanged": a record saved before its answer was dropped was made by this run
    assert summary["created"] == 20
    landed = [r["external_id"] for r in sandbox.records(case.kind, own) if r["external_id"] not in before]
    assert sorted(landed) == sorted(r["external_id"] for r in records)
    # The faults really happened, the hard case among them: writes that committed and whose answer
    # was lost (each case meets five or more of each with this seed).
    assert sandbox.counter("fault_drop") > 0
    assert sandbox.counter("fault_error") > 0


def test_onboarding_under_faults_creates_each_business_once(two_partners):
    sandbox, _, _ = two_partners
    sandbox.set_faults(FAULTS)
    records = [{"external_id": f"biz-{n}", "legal_name": f"Biz {n} Ltd", "entity_type": "limited",
                "email": f"b{n}@example.com", "country": "GB", "base_currency": "GBP"} for n in range(15)]  # fmt: skip
    summary, _ = run(_operator("ThredfiSyncBusinessesOperator", "businesses", records=records))
    sandbox.set_faults()
    mine = [b["external_id"] for b in sandbox.state.store.all("businesses", PARTNER)]
    assert sorted(m for m in mine if m.startswith("biz-")) == sorted(summary["ids"])
    assert (len(summary["ids"]), summary["created"], summary["failed"]) == (15, 15, [])


def test_ledger_export_and_generic_operator_on_a_foreign_business_fail_permanently(two_partners, tmp_path):
    _sandbox, _, foreign = two_partners
    with pytest.raises(AirflowFailException):
        run(
            _operator(
                "ThredfiExportLedgerOperator", "ledger", business_id=foreign, path=str(tmp_path / "x.jsonl")
            )
        )
    with pytest.raises(AirflowFailException):
        run(
            _operator(
                "ThredfiOperator", "generic", path=f"businesses/{foreign}/customers/", business_id=foreign
            )
        )


def test_ledger_export_and_generic_operator_ride_out_transient_faults(two_partners, tmp_path):
    sandbox, own, _ = two_partners
    run(
        _operator(
            "ThredfiSyncInvoicesOperator",
            "invoices",
            business_id=own,
            records=[invoice(n) for n in range(30)],
        )
    )
    # A handful of reads: denser faults than the batches get, so some surely hit (the seed fixes which).
    sandbox.set_faults(
        FaultConfig(error_rate=0.3, rate_limit_rate=0.1, retry_after=0.01, reset_rate=0.1, seed=11)
    )
    context = {"data_interval_start": dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
               "data_interval_end": dt.datetime(2024, 3, 2, tzinfo=dt.UTC)}  # fmt: skip
    exported, _ = run(
        _operator("ThredfiExportLedgerOperator", "ledger", business_id=own, path=str(tmp_path / "l.jsonl")),
        **context,
    )
    listed, _ = run(_operator("ThredfiOperator", "generic", path=f"businesses/{own}/invoices/", business_id=own,
                              paginate=True, params={"page_size": 7}))  # fmt: skip
    sandbox.set_faults()
    assert (exported["entries"], exported["rows"]) == (30, 60)
    assert len(listed) == 30
    assert sandbox.counter("fault_error") + sandbox.counter("fault_reset") > 0
