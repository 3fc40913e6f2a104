"""Updates, voids and what is refused (docs/sandbox.md), over HTTP, in the default and strict modes.

Every scene is spelled as the API reference has it, so it is valid in both modes; where the
modes differ (the 400 body, fields outside an update schema) the test says which answers.
Ledger checks read the API a client reads: the chart of accounts (whose debit and credit
balances are the trial balance), the reports, and the journal entries posted for a document.
"""

from __future__ import annotations

import ast
import datetime as dt
import inspect
import threading
from collections import Counter
from typing import Any

import pytest
import requests

from tests.helpers.sandbox_http import (
    API,
    Api,
    bill_body,
    bill_payment_body,
    invoice_body,
    leaves,
    payment_body,
)
from thredfi_provider.sandbox.routes import (
    bill_payments,
    common,
    general_ledger,
    parties,
    payables,
    payments,
    platform,
    receivables,
)
from thredfi_provider.sandbox.state import touched

MARCH = {"start_date": "2024-03-01", "end_date": "2024-03-31"}
APRIL = {"start_date": "2024-04-01", "end_date": "2024-04-30"}


class Client(Api):
    def put(self, business_id: str, path: str, body: Any) -> requests.Response:
        return self.call("PUT", f"/businesses/{business_id}/{path}", self.scoped(business_id), json=body)

    def patch(self, business_id: str, path: str, body: Any) -> requests.Response:
        return self.call("PATCH", f"/businesses/{business_id}/{path}", self.scoped(business_id), json=body)

    def record(self, business_id: str, path: str) -> dict[str, Any]:
        r = self.get(business_id, path)
        assert r.status_code == 200, r.text
        return r.json()

    def balances(self, business_id: str) -> dict[str, int]:
        """Account balances by code, after checking the trial balance: debits equal credits."""
        accounts = self.get(business_id, "general-ledger/chart-of-accounts/", page_size=100).json()["results"]
        assert sum(a["debit_balance"] for a in accounts) == sum(a["credit_balance"] for a in accounts)
        sheet = self.get(business_id, "reports/balance-sheet/").json()["summary"]
        assert sheet["total_assets_cents"] == sheet["total_liabilities_cents"] + sheet["total_equity_cents"]
        return {a["code"]: a["current_balance"] for a in accounts}

    def pnl(self, business_id: str, period: dict[str, str]) -> dict[str, int]:
        return self.get(business_id, "reports/profit-and-loss/", **period).json()["summary"]

    def entries(self, document_id: str) -> list[dict[str, Any]]:
        """The journal entries posted for one document, each checked balanced."""
        found = [e for e in self.sandbox.records("journal_entries") if e["source_reference"] == document_id]
        for entry in found:
            debits = sum(line["debit_amount"] for line in entry["lines"])
            credits = sum(line["credit_amount"] for line in entry["lines"])
            assert debits == credits == entry["total_debit"] == entry["total_credit"]
        return found


@pytest.fixture(params=[False, True], ids=["default", "strict"])
def api(request, thredfi_sandbox_factory) -> Client:
    return Client(thredfi_sandbox_factory(strict=request.param))


@pytest.fixture
def scene(api) -> dict[str, str]:
    """A business with two customers, two vendors, an invoice of 1,000 (March 2024, account 4000)
    and the ids of accounts 4100 and 6100."""
    bid = api.business()
    ids = {"b": bid}
    for n in (1, 2):
        ids[f"c{n}"] = api.create(bid, "customers/", {"external_id": f"c{n}", "company_name": f"C{n}"})
        ids[f"v{n}"] = api.create(bid, "vendors/", {"external_id": f"v{n}", "company_name": f"V{n}"})
    ids["i"] = api.create(bid, "invoices/", invoice_body(ids["c1"], "i", 1_000))
    accounts = api.get(bid, "general-ledger/chart-of-accounts/", page_size=100).json()["results"]
    ids.update({f"acc{a['code']}": a["id"] for a in accounts if a["code"] in ("4100", "6100")})
    return ids


def line(cents: int, account_id: str | None = None, quantity: int = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"description": "Work", "quantity": quantity, "unit_price": cents}
    if account_id:
        body["account_identifier"] = {"id": account_id, "type": "AccountId"}
    return body


def refused(r: requests.Response, status: int, error_code: str, *words: str) -> dict[str, Any]:
    """A refusal in the error-handling guide's shape (both modes, every status but 400)."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "error_code", "details"}, body
    assert body["error_code"] == error_code
    for word in words:
        assert word in body["error"], body["error"]
    return body


def invalid_fields(api: Client, r: requests.Response) -> set[str]:
    """The fields a 400 names: the guide's ``details`` keys, or strict mode's DRF body paths."""
    assert r.status_code == 400, r.text
    body = r.json()
    if api.strict:
        assert "error_code" not in body
        return {".".join(str(part) for part in leaf) for leaf in leaves(body)}
    assert body["error_code"] == "validation_error"
    return set(body["details"])


def pay(api: Client, scene: dict[str, str], invoice_id: str, cents: int, key: str) -> dict[str, Any]:
    r = api.post(
        scene["b"], "invoices/payments/", payment_body(scene["c1"], invoice_id, key, cents, "2024-03-10")
    )
    assert r.status_code == 201, r.text
    return r.json()["payment"]


def utc(stamp: str) -> dt.datetime:
    assert stamp.endswith("Z"), stamp
    parsed = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert parsed.utcoffset() == dt.timedelta(0)
    return parsed


# ---------------------------------------------------------------- timestamps


def test_every_record_carries_created_at_and_updated_at_in_utc(api, scene):
    b = scene["b"]
    payment = pay(api, scene, scene["i"], 400, "p")
    bill = api.create(b, "bills/", bill_body(scene["v1"], "bill", 500, "2024-03-02"))
    bill_payment = api.create(
        b, "bills/payments/", bill_payment_body(scene["v1"], bill, "bp", 500, "2024-03-12", "bank_transfer")
    )
    business = api.call("GET", f"/businesses/{b}/", api.partner_token()).json()
    records = {
        "business": business,
        "customer": api.record(b, f"customers/{scene['c1']}/"),
        "vendor": api.record(b, f"vendors/{scene['v1']}/"),
        "invoice": api.record(b, f"invoices/{scene['i']}/"),
        "payment (create)": payment,
        "payment (get)": api.record(b, f"invoices/payments/{payment['id']}/"),
        "bill": api.record(b, f"bills/{bill}/"),
        "bill payment": api.record(b, f"bills/payments/{bill_payment}/"),
    }
    for name, record in records.items():
        assert utc(record["created_at"]) <= utc(record["updated_at"]), name


def test_updated_at_always_moves_forward_even_within_one_microsecond():
    """An ``updated_at`` watermark must see every change: two updates never share a timestamp."""
    stored = "2999-01-01T00:00:00.000000Z"  # later than the clock
    assert touched(stored) == "2999-01-01T00:00:00.000001Z"
    assert touched(None) < stored  # microseconds always written, so the strings sort as times


# ---------------------------------------------------------------- invoices: PUT


def test_invoice_put_replaces_the_lines_and_reposts_on_the_invoice_date(api, scene):
    b, i = scene["b"], scene["i"]
    before = api.record(b, f"invoices/{i}/")
    assert (api.balances(b)["1100"], api.balances(b)["4000"]) == (1_000, 1_000)
    body = {
        "line_items": [line(1_500, scene["acc4100"], quantity=2)],
        "memo": "edited",
        "due_at": "2024-04-15",
    }
    r = api.put(b, f"invoices/{i}/", body)
    assert r.status_code == 200, r.text
    after = r.json()
    assert (after["total_amount_cents"], after["outstanding_amount_cents"], after["status"]) == (
        3_000,
        3_000,
        "sent",
    )
    assert [(x["account_code"], x["total_amount_cents"]) for x in after["line_items"]] == [("4100", 3_000)]
    assert after["line_items"][0]["id"] != before["line_items"][0]["id"]
    assert (after["memo"], after["due_at"][:10]) == ("edited", "2024-04-15")
    assert after["created_at"] == before["created_at"]
    assert utc(after["updated_at"]) > utc(before["updated_at"])
    assert api.record(b, f"invoices/{i}/") == after
    balances = api.balances(b)
    assert (balances["1100"], balances["4000"], balances["4100"]) == (3_000, 0, 3_000)
    assert api.pnl(b, MARCH)["net_revenue_cents"] == 3_000  # the reversal is dated the invoice's day
    entries = api.entries(i)
    assert [(e["entry_date"], e["total_debit"]) for e in entries] == [
        ("2024-03-01", 1_000),  # posted on create
        ("2024-03-01", 1_000),  # its reversal
        ("2024-03-01", 3_000),  # the invoice as it now is
    ]


def test_a_repeated_put_changes_nothing_and_posts_nothing(api, scene):
    b, i = scene["b"], scene["i"]
    body = {"line_items": [line(2_000)], "memo": "once"}
    first = api.put(b, f"invoices/{i}/", body).json()
    posted = len(api.entries(i))
    again = api.put(b, f"invoices/{i}/", body)
    assert again.status_code == 200
    assert again.json() == first  # same line ids, same updated_at
    assert len(api.entries(i)) == posted
    memo_only = api.put(b, f"invoices/{i}/", {"memo": "twice"}).json()
    assert (memo_only["memo"], memo_only["line_items"]) == ("twice", first["line_items"])
    assert utc(memo_only["updated_at"]) > utc(first["updated_at"])
    assert len(api.entries(i)) == posted  # amounts and accounts unchanged: nothing to repost


def test_invoice_put_moves_customer_and_external_id(api, scene):
    b, i = scene["b"], scene["i"]
    r = api.put(b, f"invoices/{i}/", {"customer_id": scene["c2"], "external_id": "i-renamed"})
    assert r.status_code == 200, r.text
    assert (r.json()["customer"]["id"], r.json()["external_id"]) == (scene["c2"], "i-renamed")
    renamed = api.post(b, "invoices/", invoice_body(scene["c1"], "i-renamed"))
    assert (renamed.status_code, renamed.json()["id"]) == (200, i)
    assert api.post(b, "invoices/", invoice_body(scene["c1"], "i")).status_code == 201  # the old key is free
    other = api.create(b, "invoices/", invoice_body(scene["c1"], "other"))
    clash = api.put(b, f"invoices/{other}/", {"external_id": "i-renamed"})
    body = refused(clash, 409, "duplicate_external_id", "i-renamed")
    assert list(body["details"]) == ["external_id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"line_items": [line(1), {"unit_price": "abc"}]}, "line_items.1.unit_price"),
        ({"line_items": []}, "line_items"),
        ({"customer_id": "nope"}, "customer_id"),
        ({"tips": 500}, "tips"),
        ({"additional_discount": 100}, "additional_discount"),
        ({"currency": "USD"}, "currency"),
        ({"due_at": "2024-13-45"}, "due_at"),
    ],
)
def test_invoice_put_validation_names_the_field_in_the_modes_shape(api, scene, change, field):
    b, i = scene["b"], scene["i"]
    before = api.record(b, f"invoices/{i}/")
    assert invalid_fields(api, api.put(b, f"invoices/{i}/", change)) == {field}
    assert api.record(b, f"invoices/{i}/") == before
    assert len(api.entries(i)) == 1


def test_fields_outside_the_update_schema_apply_by_default_and_are_refused_when_strict(api, scene):
    b, i = scene["b"], scene["i"]
    before = api.record(b, f"invoices/{i}/")
    r = api.put(
        b, f"invoices/{i}/", {"sent_at": "2024-04-02", "metadata": {"k": 1}, "transaction_tags": ["t"]}
    )
    if api.strict:
        assert invalid_fields(api, r) == {"sent_at", "metadata", "transaction_tags"}
        assert api.record(b, f"invoices/{i}/") == before
        assert len(api.entries(i)) == 1
        return
    assert r.status_code == 200, r.text
    assert (r.json()["sent_at"], r.json()["metadata"], r.json()["transaction_tags"]) == (
        "2024-04-02",
        {"k": 1},
        ["t"],
    )
    assert [e["entry_date"] for e in api.entries(i)] == ["2024-03-01", "2024-03-01", "2024-04-02"]
    assert (api.pnl(b, MARCH)["net_revenue_cents"], api.pnl(b, APRIL)["net_revenue_cents"]) == (0, 1_000)
    api.balances(b)


def _reach(api: Client, scene: dict[str, str], state: str) -> str:
    invoice = api.create(scene["b"], "invoices/", invoice_body(scene["c1"], state, 1_000))
    if state == "void":
        assert api.post(scene["b"], f"invoices/{invoice}/void/", {}).status_code == 200
    else:
        pay(api, scene, invoice, 1_000 if state == "paid" else 400, f"pay-{state}")
    return invoice


@pytest.mark.parametrize("state", ["partially_paid", "paid", "void"])
def test_an_invoice_with_payments_or_voided_cannot_be_edited(api, scene, state):
    b = scene["b"]
    invoice = _reach(api, scene, state)
    before, posted = api.record(b, f"invoices/{invoice}/"), len(api.entries(invoice))
    r = api.put(b, f"invoices/{invoice}/", {"memo": "too late", "line_items": [line(5)]})
    body = refused(r, 409, "invoice_not_editable", state, "cannot be edited")
    assert list(body["details"]) == ["status"]
    assert api.record(b, f"invoices/{invoice}/") == before
    assert len(api.entries(invoice)) == posted
    api.balances(b)


# ---------------------------------------------------------------- invoices: void


def test_void_reverses_the_posting_exactly_once_and_a_repeat_changes_nothing(api, scene):
    """A repeat is a 200 with the invoice by default, a 409 state conflict when strict (§5.5)."""
    b, i = scene["b"], scene["i"]
    before = api.record(b, f"invoices/{i}/")
    published_body = {"invoice_number": before["invoice_number"], "external_id": "i", "memo": "x",
                      "customer_id": scene["c1"]}  # fmt: skip
    first = api.post(b, f"invoices/{i}/void/", published_body)
    assert first.status_code == 200, first.text
    voided = first.json()
    assert (voided["status"], voided["outstanding_amount_cents"], voided["memo"]) == (
        "void",
        0,
        before["memo"],
    )
    assert utc(voided["voided_at"]) <= utc(voided["updated_at"])
    assert utc(voided["updated_at"]) > utc(before["updated_at"])
    for retry in ({}, published_body):
        again = api.post(b, f"invoices/{i}/void/", retry)
        if api.strict:
            refused(again, 409, "invoice_already_void", "already void")
        else:
            assert (again.status_code, again.json()) == (200, voided)
    assert api.record(b, f"invoices/{i}/") == voided
    assert [(e["entry_date"], e["total_debit"]) for e in api.entries(i)] == [
        ("2024-03-01", 1_000),
        ("2024-03-01", 1_000),
    ]
    balances = api.balances(b)
    assert (balances["1100"], balances["4000"]) == (0, 0)
    assert api.pnl(b, MARCH)["net_revenue_cents"] == 0
    late = api.post(b, "invoices/payments/", payment_body(scene["c1"], i, "late", 100, "2024-03-10"))
    assert late.status_code == 400


@pytest.mark.parametrize("state", ["partially_paid", "paid"])
def test_an_invoice_with_payments_cannot_be_voided(api, scene, state):
    b = scene["b"]
    invoice = _reach(api, scene, state)
    before, posted = api.record(b, f"invoices/{invoice}/"), len(api.entries(invoice))
    body = refused(api.post(b, f"invoices/{invoice}/void/", {}), 409, "invoice_not_voidable", state)
    assert list(body["details"]) == ["status"]
    assert api.record(b, f"invoices/{invoice}/") == before
    assert len(api.entries(invoice)) == posted


# ---------------------------------------------------------------- bills: PUT


def test_bill_put_replaces_lines_when_sent_and_keeps_them_when_omitted(api, scene):
    b = scene["b"]
    bill = api.create(b, "bills/", bill_body(scene["v1"], "bill", 500, "2024-03-02"))
    before = api.record(b, f"bills/{bill}/")
    kept = api.put(b, f"bills/{bill}/", {"memo": "lines untouched", "vendor_id": scene["v2"]})
    assert kept.status_code == 200, kept.text
    assert kept.json()["line_items"] == before["line_items"]
    assert (kept.json()["memo"], kept.json()["vendor"]["id"]) == ("lines untouched", scene["v2"])
    assert utc(kept.json()["updated_at"]) > utc(before["updated_at"])
    assert len(api.entries(bill)) == 1
    body = {"line_items": [line(700, scene["acc6100"], quantity=2)], "bill_date": "2024-04-10"}
    replaced = api.put(b, f"bills/{bill}/", body).json()
    assert [(x["account_code"], x["total_amount_cents"]) for x in replaced["line_items"]] == [("6100", 1_400)]
    assert replaced["line_items"][0]["id"] != before["line_items"][0]["id"]
    assert (replaced["total_amount_cents"], replaced["outstanding_amount_cents"]) == (1_400, 1_400)
    assert (replaced["bill_date"], replaced["issue_date"]) == ("2024-04-10", "2024-04-10")
    assert api.record(b, f"bills/{bill}/") == replaced
    balances = api.balances(b)
    assert (balances["2000"], balances["6000"], balances["6100"]) == (1_400, 0, 1_400)
    expenses = "total_operating_expenses_cents"
    assert (api.pnl(b, MARCH)[expenses], api.pnl(b, APRIL)[expenses]) == (0, 1_400)
    assert [e["entry_date"] for e in api.entries(bill)] == ["2024-03-02", "2024-03-02", "2024-04-10"]
    assert api.put(b, f"bills/{bill}/", body).json() == replaced  # a replay changes nothing
    assert len(api.entries(bill)) == 3


@pytest.mark.parametrize(("paid", "state"), [(200, "partially_paid"), (500, "paid")])
def test_a_bill_with_payments_cannot_be_edited(api, scene, paid, state):
    b = scene["b"]
    bill = api.create(b, "bills/", bill_body(scene["v1"], "bill", 500, "2024-03-02"))
    api.create(
        b, "bills/payments/", bill_payment_body(scene["v1"], bill, "bp", paid, "2024-03-12", "bank_transfer")
    )
    before = api.record(b, f"bills/{bill}/")
    r = api.put(b, f"bills/{bill}/", {"line_items": [line(1)]})
    refused(r, 409, "bill_not_editable", state, "cannot be edited")
    assert api.record(b, f"bills/{bill}/") == before
    assert len(api.entries(bill)) == 1


def test_bill_put_validation_names_the_field_in_the_modes_shape(api, scene):
    b = scene["b"]
    bill = api.create(b, "bills/", bill_body(scene["v1"], "bill", 500, "2024-03-02"))
    assert invalid_fields(api, api.put(b, f"bills/{bill}/", {"vendor_id": "nope"})) == {"vendor_id"}
    revenue = {"line_items": [line(1, scene["acc4100"])]}
    assert invalid_fields(api, api.put(b, f"bills/{bill}/", revenue)) == {"line_items.0.account_identifier"}
    other = api.create(b, "bills/", bill_body(scene["v1"], "other", 5, "2024-03-02"))
    refused(api.put(b, f"bills/{other}/", {"external_id": "bill"}), 409, "duplicate_external_id")


# ---------------------------------------------------------------- payments: PATCH


@pytest.fixture
def invoice_payment(api, scene) -> dict[str, Any]:
    """A completed payment of 400 on the scene's invoice, and the ledger as it stood after it."""
    b = scene["b"]
    created = pay(api, scene, scene["i"], 400, "p")
    return {"path": f"invoices/payments/{created['id']}/", "created": created,
            "entries": len(api.sandbox.records("journal_entries", b)), "balances": api.balances(b)}  # fmt: skip


def _ledger_untouched(api: Client, scene: dict[str, str], held: dict[str, Any]) -> None:
    b = scene["b"]
    assert len(api.sandbox.records("journal_entries", b)) == held["entries"]
    assert api.balances(b) == held["balances"]


def test_invoice_payment_patch_edits_references_and_answers_wrapped(api, scene, invoice_payment):
    b, path, created = scene["b"], invoice_payment["path"], invoice_payment["created"]
    change = {"payment_reference": "REF-2", "note": "moved", "metadata": {"k": 1}, "bank_reference": "BR",
              "processor_reference": "pi_1", "transaction_tags": ["t"], "references": {"end_to_end_id": "E2E"}}  # fmt: skip
    r = api.patch(b, path, change)
    assert r.status_code == 200, r.text
    assert list(r.json()) == ["payment"]
    patched = r.json()["payment"]
    assert set(patched) == set(created)
    assert {k: patched[k] for k in change if k != "references"} == {
        k: v for k, v in change.items() if k != "references"
    }
    assert patched["end_to_end_id"] == "E2E"
    assert utc(patched["updated_at"]) > utc(created["updated_at"])
    # What is stored; a strict read answers the published list shape instead (test_strict.py).
    assert next(p for p in api.sandbox.records("payments", b) if p["id"] == patched["id"]) == patched
    _ledger_untouched(api, scene, invoice_payment)


def test_invoice_payment_patch_resending_the_same_money_changes_nothing(api, scene, invoice_payment):
    b, i, path = scene["b"], scene["i"], invoice_payment["path"]
    stored = invoice_payment["created"]  # the create's shape (a strict read answers the list shape)
    same_money = {"total_amount_cents": 400, "allocations": [{"invoice_id": i, "amount_cents": 400}],
                  "payment_date": "2024-03-10", "customer_id": scene["c1"], "status": "completed"}  # fmt: skip
    resent = api.patch(b, path, same_money)
    assert (resent.status_code, resent.json()) == (200, {"payment": stored})
    _ledger_untouched(api, scene, invoice_payment)


@pytest.mark.parametrize(
    "field", ["total_amount_cents", "allocations", "payment_date", "processing_fee_cents", "customer_id"]
)
def test_invoice_payment_patch_refuses_a_change_to_its_money(api, scene, invoice_payment, field):
    b, i, path = scene["b"], scene["i"], invoice_payment["path"]
    stored = api.record(b, path)
    moved = {"total_amount_cents": 500, "allocations": [{"invoice_id": i, "amount_cents": 300}],
             "payment_date": "2024-03-11", "processing_fee_cents": 10, "customer_id": scene["c2"]}  # fmt: skip
    body = refused(
        api.patch(b, path, {field: moved[field]}), 409, "payment_not_editable", "completed", "refunded"
    )
    assert list(body["details"]) == [field]
    assert api.record(b, path) == stored
    assert api.record(b, f"invoices/{i}/")["amount_paid_cents"] == 400
    _ledger_untouched(api, scene, invoice_payment)


def test_invoice_payment_patch_refuses_cancelling_a_completed_payment(api, scene, invoice_payment):
    b, i, path = scene["b"], scene["i"], invoice_payment["path"]
    stored = api.record(b, path)
    refused(api.patch(b, path, {"status": "cancelled"}), 409, "invalid_status_transition", "completed")
    assert api.record(b, path) == stored
    assert api.record(b, f"invoices/{i}/")["amount_paid_cents"] == 400
    _ledger_untouched(api, scene, invoice_payment)


def test_invoice_payment_patch_validation_in_the_modes_shape(api, scene):
    b = scene["b"]
    created = pay(api, scene, scene["i"], 400, "p")
    path = f"invoices/payments/{created['id']}/"
    assert invalid_fields(api, api.patch(b, path, {"payment_method": "barter"})) == {"payment_method"}
    assert invalid_fields(api, api.patch(b, path, {"currency": "USD"})) == {"currency"}
    guide_spelled = api.patch(b, path, {"amount_cents": 500})  # the guides' name for the total
    if api.strict:
        assert invalid_fields(api, guide_spelled) == {"amount_cents"}
    else:
        refused(guide_spelled, 409, "payment_not_editable", "total_amount_cents")
    other = pay(api, scene, api.create(b, "invoices/", invoice_body(scene["c1"], "i2")), 100, "p2")
    refused(
        api.patch(b, f"invoices/payments/{other['id']}/", {"external_id": "p"}), 409, "duplicate_external_id"
    )


@pytest.fixture
def bill_payment(api, scene) -> dict[str, Any]:
    """A completed bank transfer of 500 paying a bill of 500, and the ledger as it stood after it."""
    b = scene["b"]
    bill = api.create(b, "bills/", bill_body(scene["v1"], "bill", 500, "2024-03-02"))
    payment = api.create(
        b, "bills/payments/", bill_payment_body(scene["v1"], bill, "bp", 500, "2024-03-12", "bank_transfer")
    )
    path = f"bills/payments/{payment}/"
    return {"bill": bill, "path": path, "created": api.record(b, path),
            "entries": len(api.sandbox.records("journal_entries", b)), "balances": api.balances(b)}  # fmt: skip


def test_bill_payment_patch_edits_its_notes_and_method(api, scene, bill_payment):
    b, path, created = scene["b"], bill_payment["path"], bill_payment["created"]
    change = {"memo": "m", "description": "d", "payment_reference": "R", "metadata": {"k": 1},
              "payment_method": "check", "check_number": "77"}  # fmt: skip
    r = api.patch(b, path, change)
    assert r.status_code == 200, r.text
    patched = r.json()
    assert set(patched) == set(created)
    assert {k: patched[k] for k in change} == change
    assert utc(patched["updated_at"]) > utc(created["updated_at"])
    assert api.record(b, path) == patched
    _ledger_untouched(api, scene, bill_payment)


def test_bill_payment_patch_resending_the_same_money_changes_nothing(api, scene, bill_payment):
    b, path = scene["b"], bill_payment["path"]
    stored = api.record(b, path)
    same = {
        "amount_cents": 500,
        "allocations": [{"bill_id": bill_payment["bill"], "amount_cents": 500}],
        "vendor_id": scene["v1"],
    }
    assert api.patch(b, path, same).json() == stored
    _ledger_untouched(api, scene, bill_payment)


@pytest.mark.parametrize(
    "field", ["amount_cents", "allocations", "payment_date", "processing_fee_cents", "vendor_id"]
)
def test_bill_payment_patch_refuses_a_change_to_its_money(api, scene, bill_payment, field):
    b, path = scene["b"], bill_payment["path"]
    stored = api.record(b, path)
    moved = {"amount_cents": 600, "allocations": [], "payment_date": "2024-03-13", "processing_fee_cents": 5,
             "vendor_id": scene["v2"]}  # fmt: skip
    body = refused(
        api.patch(b, path, {field: moved[field]}), 409, "payment_not_editable", "completed", "refunded"
    )
    assert list(body["details"]) == [field]
    assert api.record(b, path) == stored
    _ledger_untouched(api, scene, bill_payment)


def test_bill_payment_patch_refuses_cancelling_a_completed_payment(api, scene, bill_payment):
    b, path = scene["b"], bill_payment["path"]
    stored = api.record(b, path)
    refused(api.patch(b, path, {"status": "cancelled"}), 409, "invalid_status_transition")
    assert api.record(b, path) == stored
    _ledger_untouched(api, scene, bill_payment)


def test_bill_payment_patch_to_failed_needs_a_failure_reason(api, scene, bill_payment):
    b, path = scene["b"], bill_payment["path"]
    stored = api.record(b, path)
    assert invalid_fields(api, api.patch(b, path, {"status": "failed"})) == {"failure_reason"}
    assert api.record(b, path) == stored
    _ledger_untouched(api, scene, bill_payment)


def test_a_check_bill_payment_keeps_its_check_number(api, scene, bill_payment):
    b, path = scene["b"], bill_payment["path"]
    check = api.patch(b, path, {"payment_method": "check", "check_number": "77"})
    assert check.status_code == 200, check.text
    assert invalid_fields(api, api.patch(b, path, {"check_number": None})) == {"check_number"}
    assert api.record(b, path) == check.json()
    _ledger_untouched(api, scene, bill_payment)


# ---------------------------------------------------------------- businesses, customers, vendors


@pytest.mark.parametrize(
    ("field", "same", "other"),
    [
        ("country", "gb", "DE"),
        ("base_currency", "GBP", "EUR"),
        ("currency", "gbp", "EUR"),
        ("external_id", "b", "b2"),
    ],
)
def test_business_patch_refuses_a_change_to_what_is_not_mutable(api, field, same, other):
    bid = api.business("b")
    partner = api.partner_token()
    path = f"/businesses/{bid}/"
    before = api.call("GET", path, partner).json()
    assert invalid_fields(api, api.call("PATCH", path, partner, json={field: other, "legal_name": "X"})) == {
        field
    }
    assert api.call("GET", path, partner).json() == before
    resent = api.call("PATCH", path, partner, json={field: same})
    assert (resent.status_code, resent.json()) == (200, before)
    renamed = api.call("PATCH", path, partner, json={field: same, "legal_name": "Renamed Ltd"}).json()
    assert (renamed["legal_name"], renamed["name"], renamed["country"]) == (
        "Renamed Ltd",
        "Renamed Ltd",
        "GB",
    )
    assert utc(renamed["updated_at"]) > utc(before["updated_at"])


def test_business_patch_keeps_required_fields_and_checks_entity_type(api):
    bid = api.business("b")
    partner = api.partner_token()
    path = f"/businesses/{bid}/"
    assert invalid_fields(api, api.call("PATCH", path, partner, json={"legal_name": None})) == {"legal_name"}
    assert invalid_fields(api, api.call("PATCH", path, partner, json={"entity_type": "gmbh"})) == {
        "entity_type"
    }
    assert api.call("PATCH", path, partner, json={"entity_type": "LLP"}).json()["entity_type"] == "llp"


def test_archiving_a_customer_once_and_vendors_only_unarchive(api, scene):
    """A repeat is a 200 unchanged by default, a 409 state conflict when strict (§5.5)."""
    b = scene["b"]
    before = api.record(b, f"customers/{scene['c1']}/")
    first = api.post(b, f"customers/{scene['c1']}/archive/", {})
    assert first.status_code == 200, first.text
    archived = first.json()
    assert (archived["is_archived"], archived["status"]) == (True, "archived")
    assert utc(archived["archived_at"]) > utc(before["updated_at"])
    assert utc(archived["updated_at"]) > utc(before["updated_at"])
    again = api.post(b, f"customers/{scene['c1']}/archive/", {})
    if api.strict:
        refused(again, 409, "customer_already_archived", "already archived")
    else:
        assert (again.status_code, again.json()) == (200, archived)
    assert api.record(b, f"customers/{scene['c1']}/") == archived
    assert api.post(b, f"vendors/{scene['v1']}/archive/", {}).status_code == 404  # not published
    vendor = api.record(b, f"vendors/{scene['v1']}/")
    unarchived = api.post(b, f"vendors/{scene['v1']}/unarchive/", {})  # already active
    if api.strict:
        refused(unarchived, 409, "vendor_not_archived", "not archived")
    else:
        assert (unarchived.status_code, unarchived.json()) == (200, vendor)
    assert api.record(b, f"vendors/{scene['v1']}/") == vendor


# ---------------------------------------------------------------- idempotency


def test_an_external_id_replay_with_another_body_returns_the_stored_record(api, scene):
    """CONTRACT.md §6 leaves this open; the sandbox's choice is 200, stored record, body ignored."""
    b, i = scene["b"], scene["i"]
    stored = api.record(b, f"invoices/{i}/")
    replay = api.post(b, "invoices/", invoice_body(scene["c2"], "i", 9_999, memo="different"))
    assert (replay.status_code, replay.json()) == (200, stored)
    assert len(api.entries(i)) == 1
    customer = api.post(b, "customers/", {"external_id": "c1", "company_name": "Renamed"})
    assert (customer.status_code, customer.json()["company_name"]) == (200, "C1")


def _race(n: int, send) -> list[requests.Response]:
    """``n`` threads, each on its own connection, released together."""
    start = threading.Barrier(n)
    answers: list[requests.Response] = []

    def run() -> None:
        with requests.Session() as session:
            start.wait()
            answers.append(send(session))

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answers) == n
    return answers


def test_concurrent_identical_creates_end_as_one_record(thredfi_sandbox):
    api = Client(thredfi_sandbox)
    b = api.business()
    customer = api.create(b, "customers/", {"external_id": "c", "company_name": "C"})
    token = api.scoped(b)
    url = f"{thredfi_sandbox.base_url}{API}/businesses/{b}/"
    headers = {"Authorization": f"Bearer {token}"}

    invoice = invoice_body(customer, "race", 1_000)
    answers = _race(20, lambda s: s.post(url + "invoices/", json=invoice, headers=headers, timeout=30))
    assert Counter(r.status_code for r in answers) == {201: 1, 200: 19}
    assert len({r.json()["id"] for r in answers}) == 1
    assert len(thredfi_sandbox.records("invoices", b)) == 1
    invoice_id = answers[0].json()["id"]
    assert len(api.entries(invoice_id)) == 1

    payment = {
        k: v
        for k, v in payment_body(customer, invoice_id, "x", 600, "2024-03-10").items()
        if k != "external_id"
    }
    keyed = {**headers, "Idempotency-Key": "race-key"}
    answers = _race(20, lambda s: s.post(url + "invoices/payments/", json=payment, headers=keyed, timeout=30))
    assert Counter(r.status_code for r in answers) == {201: 1, 200: 19}
    assert Counter(r.headers.get("Idempotent-Replayed") for r in answers) == {None: 1, "true": 19}
    assert len({r.json()["payment"]["id"] for r in answers}) == 1
    assert len(thredfi_sandbox.records("payments", b)) == 1
    assert api.record(b, f"invoices/{invoice_id}/")["amount_paid_cents"] == 600
    api.balances(b)


ROUTE_MODULES = (bill_payments, common, general_ledger, parties, payables, payments, platform, receivables)
AWAITS_BEFORE_TOUCHING_STATE = {"partner_token"}  # reads its body before it reads or writes state


def test_business_routes_never_await_so_check_then_insert_is_atomic():
    """One event loop is the sandbox's only lock: an ``await`` between an existence check and the
    insert would let an identical request in between. So no route handler awaits at all."""
    awaiting = set()
    for module in ROUTE_MODULES:
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            is_function = isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
            if is_function and any(
                isinstance(n, ast.Await | ast.AsyncFor | ast.AsyncWith) for n in ast.walk(node)
            ):
                awaiting.add(f"{module.__name__}.{node.name}")
    assert {name.rsplit(".", 1)[1] for name in awaiting} == AWAITS_BEFORE_TOUCHING_STATE
