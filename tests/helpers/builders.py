"""Clients, businesses and paths every suite builds on."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: a child process importing a helper stays light
    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.sandbox.server import SandboxServer

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"

# Fast backoff so a fault run of 1,000 records takes seconds; the retry policy itself is unchanged.
FAST_BACKOFF = "&backoff_initial=0.01&backoff_max=0.1&max_retries=8&max_retry_seconds=60"


def make_client(sandbox: SandboxServer, **overrides: object) -> ThredfiClient:
    """A client of ``sandbox`` with fast backoff; ``clock``/``sleep`` and any setting override."""
    from thredfi_provider.client.client import ThredfiClient
    from thredfi_provider.client.settings import ClientSettings

    options: dict[str, object] = {"backoff_initial": 0.01, "backoff_max": 0.05, "max_retries": 8}
    options.update(overrides)
    clock = options.pop("clock", None)
    sleep = options.pop("sleep", None)
    extra: dict[str, object] = {}
    if clock is not None:
        extra["clock"] = clock
    if sleep is not None:
        extra["sleep"] = sleep
    options.setdefault("api_key", sandbox.api_key)
    settings = ClientSettings(sandbox.base_url, sandbox.partner_id, **options)  # type: ignore[arg-type]
    return ThredfiClient(settings, **extra)  # type: ignore[arg-type]


def onboard(client: ThredfiClient, external_id: str = "biz-1", **fields: object) -> str:
    """Create (or find) a GB business by ``external_id``; returns its id."""
    payload = {
        "external_id": external_id,
        "legal_name": f"{external_id} Ltd",
        "entity_type": "limited",
        "email": f"{external_id}@example.com",
        "country": "GB",
        "base_currency": "GBP",
    }
    payload.update(fields)
    return str(client.create_business(payload).record["id"])


def business_with_parties(sandbox: SandboxServer, *, customers: int = 1, vendors: int = 0) -> str:
    """The business ``acme`` with customers ``cust-1``... and vendors ``vend-1``...; returns its id."""
    client = make_client(sandbox)
    business_id = onboard(client, "acme")
    for kind, prefix, count in (("customers", "cust", customers), ("vendors", "vend", vendors)):
        for n in range(1, count + 1):
            client.create(
                business_id,
                kind,
                {"external_id": f"{prefix}-{n}", "company_name": f"{kind[:-1].title()} {n}"},
            )
    return business_id


def held(sandbox: SandboxServer, kind: str, business_id: str, external_id: str) -> dict[str, Any]:
    """The one record the sandbox holds under ``external_id`` (none, or two, fails the test)."""
    [found] = [r for r in sandbox.records(kind, business_id) if r["external_id"] == external_id]
    return found
