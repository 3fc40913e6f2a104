"""The integration guide's own code (shared/thredfi-api/000_*.txt), run against the sandbox.

``tests.helpers.guide.GuideIntegration`` follows the guide line by line (older field names
included: ``currency``, ``unit_price_cents``, ``account_code``, ``data['next']``); only the host
is the sandbox's.
"""

from __future__ import annotations

import requests

from tests.helpers.guide import GuideIntegration


def test_the_guides_onboard_invoice_payment_and_pagination_paths(thredfi_sandbox):
    guide = GuideIntegration(thredfi_sandbox.partner_id, thredfi_sandbox.api_key, thredfi_sandbox.base_url)
    business = guide.onboard_business({"id": 7, "company_name": "Guide Ltd", "email": "g@example.com"})
    assert business["external_id"] == "customer-7"
    assert (
        guide.onboard_business({"id": 7, "company_name": "Guide Ltd", "email": "g@example.com"})["id"]
        == business["id"]
    )
    bid = business["id"]
    token = guide.get_business_token(bid)
    customer = requests.post(
        f"{thredfi_sandbox.base_url}/v1/platform/businesses/{bid}/customers/",
        headers={"Authorization": f"Bearer {token}"},
        json={"external_id": "cust-1", "name": "Guide Customer"},
    ).json()
    invoices = []
    for n in range(1, 131):
        response = guide.sync_invoice(bid, customer["id"], n, 1_000 * n)
        assert response.status_code == 201, response.text
        invoices.append(response.json())
    assert (
        guide.sync_invoice(bid, customer["id"], 1, 1_000).status_code == 200
    )  # the retry the guide promises
    payment = guide.record_invoice_payment(bid, 1, invoices[0]["id"], 1_000)
    assert payment["payment"]["applied_invoices"][0]["status"] == "paid"
    replay = guide.record_invoice_payment(bid, 1, invoices[0]["id"], 1_000)
    assert replay == payment
    everything = guide.get_all_invoices(bid)
    assert len(everything) == 130
    assert {i["id"] for i in everything} == {i["id"] for i in invoices}
