from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import make_client, onboard


class StubTaskInstance:
    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


@dataclass
class StubDagRun:
    run_after: dt.datetime


def run(operator, **context: Any) -> tuple[Any, StubTaskInstance]:
    """Execute an operator the way the task runner would, with a minimal context."""
    ti = StubTaskInstance()
    ctx = {"ti": ti, "dag_run": StubDagRun(dt.datetime(2024, 3, 5, tzinfo=dt.UTC)), **context}
    return operator.execute(ctx), ti


@pytest.fixture
def seeded(thredfi_sandbox, thredfi_conn_id):
    """A business with two customers and a vendor, made through the client."""
    client = make_client(thredfi_sandbox)
    business_id = onboard(client, "acme")
    for n in (1, 2):
        client.create_customer(business_id, {"external_id": f"cust-{n}", "company_name": f"Customer {n}"})
    client.create_vendor(business_id, {"external_id": "vend-1", "company_name": "Vendor 1"})
    return business_id


def invoice(n: int, cents: int = 10_000, **overrides: Any) -> dict[str, Any]:
    record = {
        "external_id": f"inv-{n}",
        "customer_external_id": "cust-1",
        "invoice_number": f"INV-{n}",
        "sent_at": "2024-03-01",
        "due_at": "2024-03-31",
        "line_items": [
            {"description": "Work", "quantity": 1, "unit_price_cents": cents, "account_code": "4000"}
        ],
    }
    record.update(overrides)
    return record
