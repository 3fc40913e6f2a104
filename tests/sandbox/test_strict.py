"""Strict mode (docs/sandbox.md, "Strict mode"): every rule over HTTP, beside the default's leniency.

Each test runs against a strict and a default sandbox; the request bodies that set a scene are
spelled as the API reference has them, so they are valid in both modes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
import requests

from tests.helpers.guide import GuideIntegration
from tests.helpers.sandbox_http import (
    API,
    Api,
    bill_body,
    bill_payment_body,
    business_body,
    invoice_body,
    leaves,
    payment_body,
    without,
)
from thredfi_provider.sandbox.__main__ import config_from_args, parse_args
from thredfi_provider.sandbox.config import SandboxConfig
from thredfi_provider.sandbox.server import SandboxServer


@pytest.fixture(params=[False, True], ids=["default", "strict"])
def api(request, thredfi_sandbox_factory) -> Api:
    return Api(thredfi_sandbox_factory(strict=request.param))


@pytest.fixture
def scene(api) -> dict[str, str]:
    """A business with a customer, an invoice, a vendor and the id of revenue account 4100."""
    bid = api.business()
    cid = api.create(bid, "customers/", {"external_id": "c", "company_name": "C"})
    iid = api.create(bid, "invoices/", invoice_body(cid, "i"))
    vid = api.create(bid, "vendors/", {"external_id": "v", "company_name": "V"})
    accounts = api.get(bid, "general-ledger/chart-of-accounts/", account_type="revenue").json()["results"]
    acc4100 = next(a["id"] for a in accounts if a["code"] == "4100")
    return {"b": bid, "c": cid, "i": iid, "v": vid, "acc4100": acc4100}


# ---------------------------------------------------------------- undocumented list filters


@pytest.fixture(scope="module", params=[False, True], ids=["default", "strict"])
def rows(request):
    """Two of everything in one business, one of each pair matched by each filter below."""
    with SandboxServer(
        SandboxConfig(strict=request.param, partners={"p-strict": "key-strict-123"})
    ) as sandbox:
        api = Api(sandbox)
        b = api.business("biz-a")
        api.business("biz-b", country="DE", entity_type="gmbh")
        ids = {"b": b}
        for n, name in ((1, "One"), (2, "Two")):
            ids[f"c{n}"] = api.create(b, "customers/", {"external_id": f"c{n}", "company_name": name})
            ids[f"v{n}"] = api.create(
                b, "vendors/", {"external_id": f"v{n}", "company_name": f"Vendor {name}"}
            )
        ids["i1"] = api.create(b, "invoices/", invoice_body(ids["c1"], "i1", 1_000))
        later = {"sent_at": "2024-03-05", "due_at": "2024-04-30"}
        ids["i2"] = api.create(b, "invoices/", invoice_body(ids["c2"], "i2", 2_000, **later))
        api.create(b, "invoices/payments/", payment_body(ids["c1"], ids["i1"], "p1", 1_000, "2024-03-10"))
        api.create(b, "invoices/payments/", payment_body(ids["c2"], ids["i2"], "p2", 500, "2024-03-20"))
        bills = (
            (300, "2024-03-02", "2024-03-12", "bank_transfer"),
            (400, "2024-03-06", "2024-03-22", "check"),
        )
        for n, (cents, day, paid_on, method) in enumerate(bills, start=1):
            bill = api.create(b, "bills/", bill_body(ids[f"v{n}"], f"b{n}", cents, day))
            payment = bill_payment_body(ids[f"v{n}"], bill, f"bp{n}", cents, paid_on, method)
            api.create(b, "bills/payments/", payment)
        yield api, ids


# (list path, query, rows in default mode, rows in strict mode); ``{name}`` is a seeded id.
FILTERS = {
    # undocumented (CONTRACT.md §5): strict mode ignores them and returns every row
    "businesses?external_id": ("/businesses/", {"external_id": "biz-a"}, 1, 2),
    "customers?external_id": ("customers/", {"external_id": "c1"}, 1, 2),
    "customers?name": ("customers/", {"name": "One"}, 1, 2),
    "invoices?external_id": ("invoices/", {"external_id": "i1"}, 1, 2),
    "invoices?sent_at_start": ("invoices/", {"sent_at_start": "2024-03-02"}, 1, 2),
    "invoices?min_amount": ("invoices/", {"min_amount": 1_500}, 1, 2),
    "payments?external_id": ("invoices/payments/", {"external_id": "p1"}, 1, 2),
    "bills?external_id": ("bills/", {"external_id": "b1"}, 1, 2),
    "bills?vendor_id": ("bills/", {"vendor_id": "{v1}"}, 1, 2),
    "bill-payments?external_id": ("bills/payments/", {"external_id": "bp1"}, 1, 2),
    "journal-entries?source_type": ("general-ledger/journal-entries/", {"source_type": "bill"}, 2, 8),
    # documented: both modes apply them
    "businesses?country": ("/businesses/", {"country": "DE"}, 1, 1),
    "businesses?is_archived": ("/businesses/", {"is_archived": "true"}, 0, 0),
    "vendors?external_id": ("vendors/", {"external_id": "v1"}, 1, 1),
    "vendors?name_contains": ("vendors/", {"name_contains": "two"}, 1, 1),
    "invoices?customer_id": ("invoices/", {"customer_id": "{c1}"}, 1, 1),
    "invoices?status": ("invoices/", {"status": "paid"}, 1, 1),
    "invoices?due_at_start": ("invoices/", {"due_at_start": "2024-04-01"}, 1, 1),
    "invoices?max_amount": ("invoices/", {"max_amount": 1_500}, 1, 1),
    "payments?customer_id": ("invoices/payments/", {"customer_id": "{c2}"}, 1, 1),
    "payments?invoice_id": ("invoices/payments/", {"invoice_id": "{i1}"}, 1, 1),
    "bill-payments?vendor_id": ("bills/payments/", {"vendor_id": "{v1}"}, 1, 1),
    "bill-payments?payment_method": ("bills/payments/", {"payment_method": "check"}, 1, 1),
    "journal-entries?date_from": ("general-ledger/journal-entries/", {"date_from": "2024-03-15"}, 2, 2),
    "chart-of-accounts?account_type": (
        "general-ledger/chart-of-accounts/",
        {"account_type": "revenue"},
        3,
        3,
    ),
}


@pytest.mark.parametrize("case", FILTERS)
def test_strict_lists_ignore_undocumented_filters_and_keep_documented_ones(rows, case):
    api, ids = rows
    path, query, default_rows, strict_rows = FILTERS[case]
    params = {k: str(v).format(**ids) for k, v in query.items()}
    if path.startswith("/"):
        r = api.call("GET", path, api.partner_token(), params=params)
    else:
        r = api.get(ids["b"], path, **params)
    assert r.status_code == 200, r.text
    assert r.json()["count"] == (strict_rows if api.strict else default_rows)


# ---------------------------------------------------------------- required fields and spellings


def _send(api: Api, scene: dict[str, str], target: str, body: Any) -> requests.Response:
    if target == "token":
        return api.token_response(**body)
    if target == "businesses":
        return api.business_response(body)
    return api.post(scene["b"], target, body)


# (target, request body from the scene, the fields strict mode's 400 names)
Case = tuple[str, Callable[[dict[str, str]], Any], set[tuple[Any, ...]]]
REQUIRED: dict[str, Case] = {
    "business entity_type (§5.2)": (
        "businesses", lambda s: business_body("e", entity_type=None), {("entity_type",)}
    ),
    "business blank entity_type (§8)": (
        "businesses", lambda s: business_body("e", entity_type=""), {("entity_type",)}
    ),
    "payment customer_id (§5.6)": (
        "invoices/payments/",
        lambda s: without(payment_body(s["c"], s["i"], "p", 100, "2024-03-10"), "customer_id"),
        {("customer_id",)},
    ),
    "partner token client_id (§1.1)": ("token", lambda s: {"json": {"grant_type": "client_credentials"}}, {("client_id",)}),
}  # fmt: skip
GUIDE_SPELLINGS: dict[str, Case] = {
    "token as a form (§10)": ("token", lambda s: {"data": {"grant_type": "client_credentials"}}, {("non_field_errors",)}),
    "token without a body (§10)": ("token", lambda s: {}, {("client_id",)}),
    "business currency (§10)": ("businesses", lambda s: business_body("g", base_currency=None, currency="GBP"), {("currency",)}),
    "business registration_number (§10)": ("businesses", lambda s: business_body("g", registration_number="123"), {("registration_number",)}),
    "business address (§10)": ("businesses", lambda s: business_body("g", address={"city": "Leeds"}), {("address",)}),
    "customer name (§10)": ("customers/", lambda s: {"external_id": "g", "name": "Guide Customer"}, {("name",)}),
    "invoice currency (§10)": ("invoices/", lambda s: invoice_body(s["c"], "g", currency="GBP"), {("currency",)}),
    "invoice unit_price_cents (§10)": (
        "invoices/",
        lambda s: invoice_body(s["c"], "g", line_items=[{"unit_price_cents": 100}]),
        {("line_items", 0, "unit_price_cents"), ("line_items", 0, "unit_price")},
    ),
    "invoice account_code (§10)": (
        "invoices/",
        lambda s: invoice_body(s["c"], "g", line_items=[{"unit_price": 100, "account_code": "4100"}]),
        {("line_items", 0, "account_code")},
    ),
    "invoice account_identifier by code (§10)": (
        "invoices/",
        lambda s: invoice_body(s["c"], "g", line_items=[{"unit_price": 100, "account_identifier": {"code": "4100"}}]),
        {("line_items", 0, "account_identifier")},
    ),
    "bill unit_price_cents and account_code (§10)": (
        "bills/",
        lambda s: {**bill_body(s["v"], "g", 0, "2024-03-02"),
                   "line_items": [{"unit_price_cents": 100, "account_code": "6100"}]},
        {("line_items", 0, "unit_price_cents"), ("line_items", 0, "unit_price"), ("line_items", 0, "account_code")},
    ),
    "payment amount_cents (§5.6)": (
        "invoices/payments/",
        lambda s: {**without(payment_body(s["c"], s["i"], "g", 100, "2024-03-10"), "total_amount_cents"), "amount_cents": 100},
        {("amount_cents",), ("total_amount_cents",)},
    ),
}  # fmt: skip


def _refused_only_when_strict(api: Api, scene: dict[str, str], case: Case) -> None:
    target, body, fields = case
    r = _send(api, scene, target, body(scene))
    if api.strict:
        assert r.status_code == 400, r.text
        assert leaves(r.json()) == fields
    else:
        assert r.status_code in (200, 201), r.text


@pytest.mark.parametrize("case", REQUIRED)
def test_strict_requires_what_the_api_reference_requires(api, scene, case):
    _refused_only_when_strict(api, scene, REQUIRED[case])


@pytest.mark.parametrize("case", GUIDE_SPELLINGS)
def test_strict_refuses_the_guides_spellings(api, scene, case):
    _refused_only_when_strict(api, scene, GUIDE_SPELLINGS[case])


def test_strict_accepts_the_api_reference_spelling_and_resolves_account_identifier(api, scene):
    line = {
        "quantity": 2,
        "unit_price": 150,
        "account_identifier": {"id": scene["acc4100"], "type": "AccountId"},
    }
    r = api.post(scene["b"], "invoices/", invoice_body(scene["c"], "ref", line_items=[line]))
    assert r.status_code == 201, r.text
    assert r.json()["total_amount_cents"] == 300
    if api.strict:  # the default mode reads account_code (or account_identifier.code) only
        assert r.json()["line_items"][0]["account_code"] == "4100"


def test_the_guides_own_code_fails_against_strict_mode(api):
    guide = GuideIntegration(api.sandbox.partner_id, api.sandbox.api_key, api.sandbox.base_url)
    if api.strict:
        with pytest.raises(KeyError):  # no body -> 400, so no access_token
            guide.get_unscoped_token()
    else:
        assert guide.get_unscoped_token()


# ---------------------------------------------------------------- error bodies


def test_strict_400s_use_the_plain_drf_shape(api, scene):
    b, c, i = scene["b"], scene["c"], scene["i"]
    bad_price = invoice_body(c, "x", line_items=[{"unit_price": 1}, {"unit_price": "abc"}])
    no_date = without(payment_body(c, i, "p1", 100, "2024-03-10"), "payment_date")
    over = payment_body(c, i, "p2", 100_000, "2024-03-10")
    answers = {
        "model": (api.post(b, "invoices/", bad_price), "line_items.1.unit_price"),
        "required": (api.post(b, "invoices/payments/", no_date), "payment_date"),
        "route": (api.post(b, "invoices/", invoice_body("nope", "y")), "customer_id"),
        "nested route": (api.post(b, "invoices/payments/", over), "allocations.0.amount_cents"),
        "query": (api.get(b, "general-ledger/journal-entries/", page=0), "page"),
    }
    assert {name: r.status_code for name, (r, _) in answers.items()} == dict.fromkeys(answers, 400)
    bodies = {name: r.json() for name, (r, _) in answers.items()}
    if not api.strict:
        for name, (_, field) in answers.items():
            assert bodies[name]["error_code"] == "validation_error"
            assert field in bodies[name]["details"]
        return
    assert bodies["model"] == {"line_items": [{}, {"unit_price": ["A valid integer is required."]}]}
    assert bodies["required"] == {"payment_date": ["This field is required."]}
    no_customer = without(payment_body(c, i, "p3", 100, "2024-03-10"), "customer_id")
    assert api.post(b, "invoices/payments/", no_customer).json() == {
        "customer_id": ["This field is required."]
    }
    assert bodies["route"] == {"customer_id": ["Customer not found in this business."]}
    assert list(bodies["nested route"]) == ["allocations"]
    assert list(bodies["nested route"]["allocations"][0]) == ["amount_cents"]
    assert bodies["query"] == {"page": ["Ensure this value is greater than or equal to 1."]}


def test_strict_keeps_the_guide_shape_for_other_statuses(api, scene):
    r = api.get(scene["b"], f"invoices/{scene['c']}/")
    assert r.status_code == 404
    assert r.json() == {"error": "Invoice not found.", "error_code": "invoice_not_found"}


# ---------------------------------------------------------------- pagination and tokens


def test_next_and_previous_are_absolute_urls_on_the_requests_base(api, scene):
    for n in (2, 3):
        api.create(scene["b"], "customers/", {"external_id": f"c{n}", "company_name": f"C{n}"})
    url = f"{api.sandbox.base_url}{API}/businesses/{scene['b']}/customers/"
    first = api.get(scene["b"], "customers/", page_size=1).json()
    assert (first["next"], first["previous"]) == (f"{url}?page_size=1&page=2", None)
    seen, page = [], first
    while True:
        seen += [c["external_id"] for c in page["results"]]
        if not page["next"]:
            break
        page = api.session.get(
            page["next"], headers={"Authorization": f"Bearer {api.scoped(scene['b'])}"}
        ).json()
        assert page["previous"].startswith(f"{url}?page_size=1&page=")
    assert seen == ["c", "c2", "c3"]


def test_strict_tokens_live_five_seconds_unless_set(api):
    bid = api.business()
    partner = api.token_response(
        json={"grant_type": "client_credentials", "client_id": api.sandbox.partner_id}
    )
    business = api.call("POST", f"/{bid}/oauth2/token/", partner.json()["access_token"])
    lifetime = 5 if api.strict else 3600
    for r in (partner, business):
        claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
        assert (r.json()["expires_in"], claims["exp"] - claims["iat"]) == (lifetime, lifetime)
    token = business.json()["access_token"]
    assert api.call("GET", f"/businesses/{bid}/customers/", token).status_code == 200
    if api.strict:
        time.sleep(max(0.0, claims["exp"] - time.time()) + 1.1)
        r = api.call("GET", f"/businesses/{bid}/customers/", token)
        assert (r.status_code, r.json()["error_code"]) == (401, "invalid_token")


def test_an_explicit_token_lifetime_wins_in_strict_mode(thredfi_sandbox_factory):
    api = Api(thredfi_sandbox_factory(strict=True, token_lifetime=60))
    r = api.token_response(json={"grant_type": "client_credentials", "client_id": api.sandbox.partner_id})
    assert r.json()["expires_in"] == 60


# ---------------------------------------------------------------- switching it on


@pytest.fixture
def no_strict_env(monkeypatch):
    monkeypatch.delenv("THREDFI_SANDBOX_STRICT", raising=False)
    return monkeypatch


def test_the_cli_serves_the_lenient_mode_with_hour_long_tokens_by_default(no_strict_env):
    default = config_from_args(parse_args([]))
    assert (default.strict, default.token_seconds) == (False, 3600)


def test_the_strict_flag_turns_strict_mode_on_with_five_second_tokens(no_strict_env):
    strict = config_from_args(parse_args(["--strict"]))
    assert (strict.strict, strict.token_seconds) == (True, 5)


def test_an_explicit_token_lifetime_wins_over_the_strict_flag(no_strict_env):
    assert config_from_args(parse_args(["--strict", "--token-lifetime", "60"])).token_seconds == 60


def test_the_env_var_turns_strict_mode_on_and_no_strict_turns_it_off(no_strict_env):
    no_strict_env.setenv("THREDFI_SANDBOX_STRICT", "1")
    assert config_from_args(parse_args([])).strict is True
    assert config_from_args(parse_args(["--no-strict"])).strict is False


def test_the_strict_fixture_serves_strict_mode(thredfi_strict_sandbox):
    assert thredfi_strict_sandbox.config.strict is True
    assert Api(thredfi_strict_sandbox).token_response().status_code == 400


def test_strict_and_default_sandboxes_side_by_side(thredfi_sandbox_factory):
    """Strictness is per server: one strict sandbox does not make its neighbours strict."""
    strict, default = Api(thredfi_sandbox_factory(strict=True)), Api(thredfi_sandbox_factory())
    for n in range(3):
        guide_spelled = business_body(f"g{n}", base_currency=None, currency="GBP")
        answers = (strict.business_response(guide_spelled), default.business_response(guide_spelled))
        assert tuple(r.status_code for r in answers) == (400, 201)
