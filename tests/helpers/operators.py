"""Running an operator the way the task runner would, with a stub context; invoice records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


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
