"""The integration guide's own code (shared/thredfi-api/000_*.txt), line by line.

Older field names included (``currency``, ``unit_price_cents``, ``account_code``,
``data['next']``); only the host is the sandbox's. ``tests/sandbox/test_guide_paths.py`` runs it
against the default sandbox; ``tests/sandbox/test_strict.py`` shows strict mode refusing it.
"""

from __future__ import annotations

import base64

import requests


class GuideIntegration:
    def __init__(self, partner_uuid, api_key, base_url):
        self.partner_uuid = partner_uuid
        self.api_key = api_key
        self.base_url = base_url

    def get_unscoped_token(self):
        credentials = f"{self.partner_uuid}:{self.api_key}"
        encoded = base64.b64encode(credentials.encode()).decode()
        response = requests.post(
            f"{self.base_url}/v1/platform/oauth2/token/", headers={"Authorization": f"Basic {encoded}"}
        )
        return response.json()["access_token"]

    def get_business_token(self, business_id):
        unscoped_token = self.get_unscoped_token()
        response = requests.post(
            f"{self.base_url}/v1/platform/{business_id}/oauth2/token/",
            headers={"Authorization": f"Bearer {unscoped_token}"},
        )
        return response.json()["access_token"]

    def onboard_business(self, customer_data):
        unscoped_token = self.get_unscoped_token()
        business_data = {
            "external_id": f"customer-{customer_data['id']}",
            "legal_name": customer_data["company_name"],
            "entity_type": "limited",
            "email": customer_data["email"],
            "country": "GB",
            "currency": "GBP",
        }
        response = requests.post(
            f"{self.base_url}/v1/platform/businesses/",
            headers={"Authorization": f"Bearer {unscoped_token}", "Content-Type": "application/json"},
            json=business_data,
        )
        return response.json()

    def sync_invoice(self, business_id, customer_id, invoice_id, amount_cents):
        business_token = self.get_business_token(business_id)
        invoice_data = {
            "external_id": f"invoice-{invoice_id}",
            "customer_id": customer_id,
            "invoice_number": f"INV-{invoice_id:03d}",
            "sent_at": "2024-01-15",
            "due_at": "2024-02-15",
            "currency": "GBP",
            "line_items": [
                {
                    "description": "Professional Services",
                    "quantity": 1,
                    "unit_price_cents": amount_cents,
                    "account_code": "4000",
                }
            ],
        }
        return requests.post(
            f"{self.base_url}/v1/platform/businesses/{business_id}/invoices/",
            headers={"Authorization": f"Bearer {business_token}", "Content-Type": "application/json"},
            json=invoice_data,
        )

    def record_invoice_payment(self, business_id, payment_id, invoice_id, amount_cents):
        business_token = self.get_business_token(business_id)
        payment_data = {
            "external_id": f"payment-{payment_id}",
            "amount_cents": amount_cents,
            "payment_date": "2024-01-20",
            "payment_method": "bank_transfer",
            "allocations": [{"invoice_id": invoice_id, "amount_cents": amount_cents}],
        }
        response = requests.post(
            f"{self.base_url}/v1/platform/businesses/{business_id}/invoices/payments/",
            headers={
                "Authorization": f"Bearer {business_token}",
                "Content-Type": "application/json",
                "Idempotency-Key": f"payment-{payment_id}",
            },
            json=payment_data,
        )
        return response.json()

    def get_all_invoices(self, business_id):
        business_token = self.get_business_token(business_id)
        all_invoices = []
        page = 1
        while True:
            response = requests.get(
                f"{self.base_url}/v1/platform/businesses/{business_id}/invoices/",
                headers={"Authorization": f"Bearer {business_token}"},
                params={"page": page, "page_size": 100},
            )
            data = response.json()
            all_invoices.extend(data["results"])
            if not data["next"]:
                break
            page += 1
        return all_invoices
