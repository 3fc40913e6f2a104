"""What a sensor or a trigger waits for: an invoice paid while it polls."""

from __future__ import annotations

import threading
import time

from tests.helpers.builders import make_client
from thredfi_provider.sandbox.server import SandboxServer


def pay_in_background(sandbox: SandboxServer, business_id: str, delay: float = 0.0) -> threading.Thread:
    """Pay the business's first invoice (700) in full from a thread, after ``delay`` seconds."""

    def pay():
        time.sleep(delay)
        client = make_client(sandbox)
        invoice_id = next(iter(client.list_records(business_id, "invoices")))["id"]
        client.create(
            business_id,
            "invoices/payments",
            {
                "amount_cents": 700,
                "payment_date": "2024-03-05",
                "allocations": [{"invoice_id": invoice_id, "amount_cents": 700}],
            },
            idempotency_key="test-pay",
        )

    thread = threading.Thread(target=pay)
    thread.start()
    return thread
