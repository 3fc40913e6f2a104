"""Every sandbox rule, exercised over HTTP the way a client sees it."""

from __future__ import annotations

import base64
import subprocess
import sys
import time

import pytest
import requests

from tests.helpers import make_client, onboard
from tests.helpers.sandbox_http import API, Raw
from thredfi_provider.sandbox.config import FaultConfig, SandboxConfig
from thredfi_provider.sandbox.server import SandboxServer


@pytest.fixture
def raw(thredfi_sandbox):
    return Raw(thredfi_sandbox)


@pytest.fixture
def business(thredfi_sandbox, raw):
    token = raw.partner_token()
    r = raw.call(
        "POST",
        "/businesses/",
        token,
        json={"external_id": "b", "legal_name": "B Ltd", "entity_type": "limited", "email": "b@example.com"},
    )
    business_id = r.json()["id"]
    return business_id, raw.business_token(business_id)


def _customer(raw, business, external_id="c1"):
    bid, token = business
    return raw.call(
        "POST", f"/businesses/{bid}/customers/", token, json={"external_id": external_id, "company_name": "C"}
    )


def _invoice(raw, business, customer_id, external_id="i1", cents=10_000, **extra):
    bid, token = business
    body = {
        "external_id": external_id,
        "customer_id": customer_id,
        "sent_at": "2024-03-01",
        "due_at": "2024-03-31",
        "line_items": [
            {"description": "Work", "quantity": 1, "unit_price_cents": cents, "account_code": "4000"}
        ],
        **extra,
    }
    return raw.call("POST", f"/businesses/{bid}/invoices/", token, json=body)


# ---------------------------------------------------------------- auth


def test_wrong_credentials_get_401(thredfi_sandbox, raw):
    r = raw.session.post(
        thredfi_sandbox.base_url + API + "/oauth2/token/", auth=(thredfi_sandbox.partner_id, "nope")
    )
    assert r.status_code == 401
    assert r.json()["error_code"] == "invalid_credentials"


def test_partner_token_accepts_form_json_and_no_body(thredfi_sandbox):
    url = thredfi_sandbox.base_url + API + "/oauth2/token/"
    auth = (thredfi_sandbox.partner_id, thredfi_sandbox.api_key)
    assert requests.post(url, auth=auth, data={"grant_type": "client_credentials"}).status_code == 200
    body = {"grant_type": "client_credentials", "client_id": thredfi_sandbox.partner_id}
    assert requests.post(url, auth=auth, json=body).status_code == 200
    assert requests.post(url, auth=auth).status_code == 200
    assert requests.post(url, auth=auth, json={"client_id": "someone-else"}).status_code == 400


def test_business_token_shape_and_scope(raw, business):
    bid, _ = business
    r = raw.call("POST", f"/{bid}/oauth2/token/", raw.partner_token())
    body = r.json()
    assert body["scope"] == "business_access"
    assert body["business_id"] == bid
    assert body["expires_in"] == 3600
    assert body["token_type"] == "Bearer"


def test_a_business_token_is_refused_on_another_business(raw, business):
    _bid_a, token_a = business
    b = raw.call(
        "POST",
        "/businesses/",
        raw.partner_token(),
        json={"external_id": "other", "legal_name": "O", "entity_type": "limited", "email": "o@example.com"},
    ).json()["id"]
    assert raw.call("GET", f"/businesses/{b}/customers/", token_a).status_code == 403


def test_a_partner_token_is_refused_on_business_routes(raw, business):
    bid_a, _ = business
    r = raw.call("GET", f"/businesses/{bid_a}/customers/", raw.partner_token())
    assert r.status_code == 403
    assert r.json()["error_code"] == "permission_denied"


def test_a_business_token_is_refused_on_partner_routes(raw, business):
    _, token_a = business
    assert raw.call("GET", "/businesses/", token_a).status_code == 403


def test_tokens_expire_after_their_lifetime(thredfi_sandbox_factory):
    sandbox = thredfi_sandbox_factory(token_lifetime=1)
    raw = Raw(sandbox)
    token = raw.partner_token()
    assert raw.call("GET", "/businesses/", token).status_code == 200
    time.sleep(2.1)
    r = raw.call("GET", "/businesses/", token)
    assert r.status_code == 401
    assert r.json()["error_code"] == "invalid_token"


def test_tokens_can_be_forced_to_expire(thredfi_sandbox, raw):
    fresh = raw.partner_token()
    assert raw.call("GET", "/businesses/", fresh).status_code == 200
    thredfi_sandbox.expire_tokens()
    assert raw.call("GET", "/businesses/", fresh).status_code == 401


def test_forged_token_is_rejected(raw):
    forged = base64.urlsafe_b64encode(b'{"alg":"none"}').decode() + ".e30."
    assert raw.call("GET", "/businesses/", forged).status_code == 401


def test_unknown_business_gets_404_for_a_token(raw):
    r = raw.call("POST", "/00000000-0000-0000-0000-000000000000/oauth2/token/", raw.partner_token())
    assert r.status_code == 404
    assert r.json()["error_code"] == "business_not_found"


# ---------------------------------------------------------------- businesses


def test_business_create_is_idempotent_and_accepts_both_currency_fields(raw):
    token = raw.partner_token()
    body = {
        "external_id": "e1",
        "legal_name": "E",
        "entity_type": "limited",
        "email": "e@example.com",
        "currency": "EUR",
    }
    first = raw.call("POST", "/businesses/", token, json=body)
    again = raw.call("POST", "/businesses/", token, json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["base_currency"] == "EUR"
    assert (first.json()["_meta"]["created"], again.json()["_meta"]["created"]) == (True, False)
    body2 = {**body, "external_id": "e2", "base_currency": "SEK"}
    body2.pop("currency")
    assert raw.call("POST", "/businesses/", token, json=body2).json()["base_currency"] == "SEK"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("entity_type", "gmbh"),
        ("email", "not-an-email"),
        ("base_currency", "XYZ"),
        ("country", "US"),
    ],
)
def test_business_validation_names_the_field(raw, field, value):
    body = {
        "external_id": "v",
        "legal_name": "V",
        "entity_type": "limited",
        "email": "v@example.com",
        field: value,
    }
    r = raw.call("POST", "/businesses/", raw.partner_token(), json=body)
    assert r.status_code == 400
    assert r.json()["error_code"] == "validation_error"
    assert field in r.json()["details"]


def test_business_entity_type_checked_per_country(raw):
    body = {
        "external_id": "de",
        "legal_name": "D",
        "entity_type": "GmbH",
        "email": "d@example.com",
        "country": "DE",
    }
    r = raw.call("POST", "/businesses/", raw.partner_token(), json=body)
    assert r.status_code == 201
    assert r.json()["entity_type"] == "gmbh"
    body = {**body, "external_id": "fr", "country": "FR", "entity_type": "sas"}  # FR is not validated
    assert raw.call("POST", "/businesses/", raw.partner_token(), json=body).status_code == 201


def test_business_patch_updates_but_country_is_immutable(raw, business):
    bid, _ = business
    token = raw.partner_token()
    r = raw.call("PATCH", f"/businesses/{bid}/", token, json={"legal_name": "Renamed"})
    assert r.json()["legal_name"] == "Renamed"
    assert raw.call("PATCH", f"/businesses/{bid}/", token, json={"country": "DE"}).status_code == 400


def test_business_activation_delay(thredfi_sandbox_factory):
    sandbox = thredfi_sandbox_factory(activation_delay=1.0)
    client = make_client(sandbox)
    bid = onboard(client)
    assert client.get_business(bid)["is_active"] is False
    time.sleep(1.1)
    assert client.get_business(bid)["is_active"] is True


# ---------------------------------------------------------------- invoices and payments


def test_invoice_totals_status_and_ledger(raw, business, thredfi_sandbox):
    bid, _token = business
    cid = _customer(raw, business).json()["id"]
    inv = _invoice(raw, business, cid, cents=12_345)
    assert inv.status_code == 201
    body = inv.json()
    assert body["total_amount_cents"] == 12_345
    assert body["status"] == "sent"
    assert body["customer"]["id"] == cid
    entries = thredfi_sandbox.records("journal_entries", bid)
    assert len(entries) == 1
    assert entries[0]["total_debit"] == entries[0]["total_credit"] == 12_345


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"unit_price_cents": 10.5}, "line_items.0.unit_price_cents"),
        ({"unit_price_cents": "100"}, "line_items.0.unit_price_cents"),
        ({"unit_price_cents": -1}, "line_items.0.unit_price_cents"),
        ({"unit_price_cents": 10**15}, "line_items.0.unit_price_cents"),
        ({"unit_price_cents": 100, "account_code": "9999"}, "line_items.0.account_code"),
        ({"unit_price_cents": 100, "quantity": 0}, "line_items.0.quantity"),
    ],
)
def test_invoice_money_is_strict_integer_cents(raw, business, line, field):
    bid, token = business
    cid = _customer(raw, business).json()["id"]
    r = raw.call(
        "POST", f"/businesses/{bid}/invoices/", token, json={"customer_id": cid, "line_items": [line]}
    )
    assert r.status_code == 400
    assert field in r.json()["details"]


def test_invoice_rejects_bad_dates_unknown_customer_and_foreign_currency(raw, business):
    _bid, _token = business
    cid = _customer(raw, business).json()["id"]
    assert "sent_at" in _invoice(raw, business, cid, sent_at="2024-13-45").json()["details"]
    assert "customer_id" in _invoice(raw, business, "nope").json()["details"]
    assert "currency" in _invoice(raw, business, cid, currency="USD").json()["details"]


def test_invoice_external_id_repeat_returns_200_existing(raw, business, thredfi_sandbox):
    bid, _ = business
    cid = _customer(raw, business).json()["id"]
    first = _invoice(raw, business, cid)
    again = _invoice(raw, business, cid)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert len(thredfi_sandbox.records("invoices", bid)) == 1
    assert len(thredfi_sandbox.records("journal_entries", bid)) == 1


def test_partial_then_full_payment_moves_invoice_status(raw, business):
    bid, token = business
    cid = _customer(raw, business).json()["id"]
    iid = _invoice(raw, business, cid, cents=10_000).json()["id"]

    def pay(key, cents):
        body = {
            "customer_id": cid,
            "total_amount_cents": cents,
            "payment_date": "2024-03-10",
            "allocations": [{"invoice_id": iid, "amount_cents": cents}],
        }
        return raw.call(
            "POST",
            f"/businesses/{bid}/invoices/payments/",
            token,
            json=body,
            headers={"Idempotency-Key": key},
        )

    assert pay("p1", 4_000).json()["payment"]["applied_invoices"][0]["status"] == "partially_paid"
    over = pay("p2", 7_000)
    assert over.status_code == 400
    assert "allocations.0.amount_cents" in over.json()["details"]
    assert pay("p3", 6_000).status_code == 201
    invoice = raw.call("GET", f"/businesses/{bid}/invoices/{iid}/", token).json()
    assert (invoice["status"], invoice["outstanding_amount_cents"]) == ("paid", 0)


def test_idempotency_key_replays_and_conflicts(raw, business, thredfi_sandbox):
    bid, token = business
    cid = _customer(raw, business).json()["id"]
    iid = _invoice(raw, business, cid).json()["id"]
    body = {
        "total_amount_cents": 500,
        "payment_date": "2024-03-10",
        "allocations": [{"invoice_id": iid, "amount_cents": 500}],
    }
    url = f"/businesses/{bid}/invoices/payments/"
    first = raw.call("POST", url, token, json=body, headers={"Idempotency-Key": "k"})
    replay = raw.call("POST", url, token, json=body, headers={"Idempotency-Key": "k"})
    assert (first.status_code, replay.status_code) == (201, 200)
    assert first.json() == replay.json()
    conflict = raw.call(
        "POST", url, token, json={**body, "total_amount_cents": 501}, headers={"Idempotency-Key": "k"}
    )
    assert conflict.status_code == 409
    assert conflict.json()["error_code"] == "idempotency_key_conflict"
    assert len(thredfi_sandbox.records("payments", bid)) == 1


def test_void_invoice_reverses_the_ledger(raw, business, thredfi_sandbox):
    bid, token = business
    cid = _customer(raw, business).json()["id"]
    iid = _invoice(raw, business, cid, cents=900).json()["id"]
    assert (
        raw.call("POST", f"/businesses/{bid}/invoices/{iid}/void/", token, json={}).json()["status"] == "void"
    )
    pnl = raw.call(
        "GET", f"/businesses/{bid}/reports/profit-and-loss/", token, params={"start_date": "2024-01-01"}
    )
    assert pnl.json()["summary"]["net_revenue_cents"] == 0


def test_invoice_filters_by_status_and_sent_date(raw, business):
    bid, token = business
    cid = _customer(raw, business).json()["id"]
    _invoice(raw, business, cid, "a", sent_at="2024-03-01")
    _invoice(raw, business, cid, "b", sent_at="2024-03-05")
    r = raw.call("GET", f"/businesses/{bid}/invoices/", token, params={"sent_at_start": "2024-03-02"})
    assert [i["external_id"] for i in r.json()["results"]] == ["b"]
    r = raw.call("GET", f"/businesses/{bid}/invoices/", token, params={"status": "paid"})
    assert r.json()["count"] == 0


# ---------------------------------------------------------------- bills and the ledger


@pytest.fixture
def bill(raw, business):
    """A vendor's bill of 5,000 (2 x 2,500, account 6100): ``(vendor id, bill id)``."""
    bid, token = business
    vid = raw.call(
        "POST", f"/businesses/{bid}/vendors/", token, json={"external_id": "v", "company_name": "V"}
    ).json()["id"]
    created = raw.call(
        "POST",
        f"/businesses/{bid}/bills/",
        token,
        json={
            "external_id": "bill1",
            "vendor_id": vid,
            "bill_date": "2024-03-02",
            "line_items": [{"quantity": 2, "unit_price_cents": 2_500, "account_code": "6100"}],
        },
    )
    assert created.status_code == 201
    return vid, created.json()["id"]


def _pay_bill(raw, business, bill) -> requests.Response:
    (bid, token), (vid, bill_id) = business, bill
    body = {"vendor_id": vid, "amount_cents": 5_000, "payment_date": "2024-03-09", "payment_method": "bank_transfer",
            "allocations": [{"bill_id": bill_id, "amount_cents": 5_000}]}  # fmt: skip
    return raw.call(
        "POST", f"/businesses/{bid}/bills/payments/", token, json=body, headers={"Idempotency-Key": "bp"}
    )


def test_a_check_bill_payment_without_allocations_is_refused(raw, business, bill):
    bid, token = business
    check = {
        "vendor_id": bill[0],
        "amount_cents": 5_000,
        "payment_date": "2024-03-09",
        "payment_method": "check",
    }
    assert (
        "non_field_errors"
        in raw.call("POST", f"/businesses/{bid}/bills/payments/", token, json=check).json()["details"]
    )


def test_a_bill_payment_marks_the_bill_paid(raw, business, bill):
    bid, token = business
    paid = _pay_bill(raw, business, bill)
    assert paid.status_code == 201
    assert raw.call("GET", f"/businesses/{bid}/bills/{bill[1]}/", token).json()["status"] == "paid"


def test_the_balance_sheet_balances_after_a_bill_and_its_payment(raw, business, bill):
    bid, token = business
    assert _pay_bill(raw, business, bill).status_code == 201
    sheet = raw.call("GET", f"/businesses/{bid}/reports/balance-sheet/", token).json()["summary"]
    assert sheet["total_assets_cents"] == sheet["total_liabilities_cents"] + sheet["total_equity_cents"]


def test_a_paid_bill_is_one_operating_expense_in_profit_and_loss(raw, business, bill):
    bid, token = business
    assert _pay_bill(raw, business, bill).status_code == 201
    pnl = raw.call(
        "GET", f"/businesses/{bid}/reports/profit-and-loss/", token, params={"start_date": "2024-01-01"}
    )
    assert pnl.json()["summary"]["total_operating_expenses_cents"] == 5_000


def test_every_journal_entry_is_balanced(raw, business, thredfi_sandbox):
    bid, token = business
    cid = _customer(raw, business).json()["id"]
    for n in range(3):
        iid = _invoice(raw, business, cid, f"i{n}", cents=1_000 + n).json()["id"]
        raw.call(
            "POST",
            f"/businesses/{bid}/invoices/payments/",
            token,
            json={
                "amount_cents": 2_000,
                "payment_date": "2024-03-03",
                "allocations": [{"invoice_id": iid, "amount_cents": 500}],
            },
        )
    for entry in thredfi_sandbox.records("journal_entries", bid):
        debits = sum(line["debit_amount"] for line in entry["lines"])
        credits = sum(line["credit_amount"] for line in entry["lines"])
        assert debits == credits == entry["total_debit"]


def test_page_size_is_capped_at_100_and_bad_pages_answer_cleanly(raw, business):
    bid, token = business
    for n in range(105):
        _customer(raw, business, f"c{n}")
    r = raw.call("GET", f"/businesses/{bid}/customers/", token, params={"page_size": 500})
    assert len(r.json()["results"]) == 100
    assert r.json()["page_info"]["total_pages"] == 2
    assert raw.call("GET", f"/businesses/{bid}/customers/", token, params={"page": 9}).status_code == 404
    assert raw.call("GET", f"/businesses/{bid}/customers/", token, params={"page": "x"}).status_code == 400


# ---------------------------------------------------------------- faults, persistence, process


def _fault_pattern(seed: int) -> list[str]:
    with SandboxServer(
        SandboxConfig(faults=FaultConfig(error_rate=0.3, rate_limit_rate=0.2, seed=seed))
    ) as sandbox:
        token = Raw(sandbox)
        return [
            str(token.session.get(sandbox.base_url + API + "/businesses/", timeout=5).status_code)
            for _ in range(30)
        ]


def test_fault_injection_is_reproducible_from_a_seed():
    first, again, other = _fault_pattern(5), _fault_pattern(5), _fault_pattern(6)
    assert first == again
    assert first != other
    assert {"429", "401"} <= set(first)
    assert set(first) & {"500", "502", "503"}


def test_rate_limit_per_minute(thredfi_sandbox):
    thredfi_sandbox.set_faults(requests_per_minute=3)
    codes = [requests.get(thredfi_sandbox.base_url + API + "/businesses/", timeout=5) for _ in range(5)]
    assert [c.status_code for c in codes] == [401, 401, 401, 429, 429]
    assert float(codes[-1].headers["Retry-After"]) > 0


def test_latency_injection(thredfi_sandbox):
    thredfi_sandbox.set_faults(slow_rate=1.0, slow_seconds=0.3)
    start = time.perf_counter()
    requests.get(thredfi_sandbox.base_url + API + "/businesses/", timeout=5)
    assert time.perf_counter() - start >= 0.3  # a lower bound on an injected sleep, not a benchmark


def test_drop_after_commit_commits_then_resets(thredfi_sandbox, raw, business):
    bid, _token = business
    thredfi_sandbox.set_faults(drop_after_commit_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        _customer(raw, business, "dropped")
    thredfi_sandbox.set_faults()
    assert [c["external_id"] for c in thredfi_sandbox.records("customers", bid)] == ["dropped"]


def test_sqlite_state_survives_a_restart(tmp_path):
    db = str(tmp_path / "sandbox.db")
    config = SandboxConfig(db_path=db, partners={"p-1": "key-abcdef"})
    with SandboxServer(config) as sandbox:
        client = make_client(sandbox)
        bid = onboard(client)
        client.create(bid, "customers", {"external_id": "c", "company_name": "Kept"})
    with SandboxServer(SandboxConfig(db_path=db, partners={"p-1": "key-abcdef"})) as sandbox:
        client = make_client(sandbox)
        assert [b["id"] for b in client.list_businesses()] == [bid]
        assert [c["company_name"] for c in client.list_records(bid, "customers")] == ["Kept"]
        assert len(list(client.list_records(bid, "account"))) > 10


def test_cli_serves_on_the_given_port(unused_tcp_port):
    proc = subprocess.Popen(
        [sys.executable, "-m", "thredfi_provider.sandbox", "--port", str(unused_tcp_port), "--seed", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert f"127.0.0.1:{unused_tcp_port}" in line
        r = requests.post(
            f"http://127.0.0.1:{unused_tcp_port}{API}/oauth2/token/",
            auth=("5a9d2c1e-0f4b-4c83-9b61-7d2e1a3c4b5f", "sandbox-api-key"),
        )
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def unused_tcp_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
