"""A repeated state change (void, archive, unarchive) and the invoice PUT's unpublished fields (#25).

CONTRACT.md §5.5: a second void of a void invoice is not documented, and the strictest reading
is a 409 state conflict; "the same holds for archive/unarchive". Strict mode answers so; the
default keeps the idempotent 200. Strict mode also refuses, with a 400 naming it, each create
field update-invoice does not list, so a client that sends one finds out in its tests.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.helpers.sandbox_http import Api, invoice_body, leaves


@pytest.fixture(params=[False, True], ids=["default", "strict"])
def api(request, thredfi_sandbox_factory) -> Api:
    return Api(thredfi_sandbox_factory(strict=request.param))


@pytest.fixture
def scene(api) -> dict[str, str]:
    """A business with a customer, a vendor and an unpaid invoice of 1,000."""
    bid = api.business()
    cid = api.create(bid, "customers/", {"external_id": "c", "company_name": "C"})
    vid = api.create(bid, "vendors/", {"external_id": "v", "company_name": "V"})
    iid = api.create(bid, "invoices/", invoice_body(cid, "i"))
    return {"b": bid, "c": cid, "v": vid, "i": iid}


def state_conflict(r: requests.Response, error_code: str) -> dict[str, Any]:
    """A 409 in the error-handling guide's shape, naming the state."""
    assert r.status_code == 409, r.text
    body = r.json()
    assert set(body) == {"error", "error_code", "details"}, body
    assert body["error_code"] == error_code
    assert list(body["details"]) == ["status"]
    return body


def record(api: Api, business_id: str, path: str) -> dict[str, Any]:
    r = api.get(business_id, path)
    assert r.status_code == 200, r.text
    return r.json()


def journal_entries(api: Api, document_id: str) -> int:
    return sum(1 for e in api.sandbox.records("journal_entries") if e["source_reference"] == document_id)


def test_a_second_void_is_a_409_when_strict_and_a_200_by_default(api, scene):
    b, i = scene["b"], scene["i"]
    first = api.post(b, f"invoices/{i}/void/", {})
    assert first.status_code == 200, first.text
    again = api.post(b, f"invoices/{i}/void/", {})
    if api.strict:
        body = state_conflict(again, "invoice_already_void")
        assert "already void" in body["error"]
    else:
        assert (again.status_code, again.json()) == (200, first.json())
    assert record(api, b, f"invoices/{i}/") == first.json()
    assert journal_entries(api, i) == 2  # the posting and its one reversal, whatever the repeat got


def test_a_second_archive_is_a_409_when_strict_and_a_200_by_default(api, scene):
    b, c = scene["b"], scene["c"]
    first = api.post(b, f"customers/{c}/archive/", {})
    assert first.status_code == 200, first.text
    again = api.post(b, f"customers/{c}/archive/", {})
    if api.strict:
        state_conflict(again, "customer_already_archived")
    else:
        assert (again.status_code, again.json()) == (200, first.json())
    assert record(api, b, f"customers/{c}/") == first.json()


def test_unarchiving_an_active_vendor_is_a_409_when_strict_and_a_200_by_default(api, scene):
    b, v = scene["b"], scene["v"]
    active = record(api, b, f"vendors/{v}/")
    r = api.post(b, f"vendors/{v}/unarchive/", {})
    if api.strict:
        state_conflict(r, "vendor_not_archived")
    else:
        assert (r.status_code, r.json()) == (200, active)
    assert record(api, b, f"vendors/{v}/") == active


def test_an_archived_vendor_is_unarchived_in_both_modes(api, scene):
    b, v = scene["b"], scene["v"]
    [held] = [p for p in api.sandbox.records("vendors", b) if p["id"] == v]
    api.sandbox.state.store.put("vendors", {**held, "is_archived": True, "status": "ARCHIVED"})
    r = api.post(b, f"vendors/{v}/unarchive/", {})
    assert r.status_code == 200, r.text
    assert (r.json()["is_archived"], r.json()["status"]) == (False, "ACTIVE")


@pytest.mark.parametrize("field", ["sent_at", "metadata", "transaction_tags", "customer_external_id"])
def test_an_invoice_put_with_a_create_only_field_is_refused_when_strict(api, scene, field):
    b, i = scene["b"], scene["i"]
    value = {"sent_at": "2024-04-02", "metadata": {"k": 1}, "transaction_tags": ["t"],
             "customer_external_id": "c"}[field]  # fmt: skip
    before = record(api, b, f"invoices/{i}/")
    r = api.call("PUT", f"/businesses/{b}/invoices/{i}/", api.scoped(b), json={"memo": "m", field: value})
    if not api.strict:
        assert r.status_code == 200, r.text
        return
    assert r.status_code == 400, r.text
    assert leaves(r.json()) == {(field,)}
    assert record(api, b, f"invoices/{i}/") == before  # nothing of the refused PUT applied
